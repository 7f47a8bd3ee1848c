//! 1:N search through the gallery, across nodes, and inverted-file recall against exact search.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use gallery::search::{FaceIndex, IndexConfig};
use gallery::*;

fn request(groups: &[&str], probe: Vec<f32>, max_person_num: usize) -> SearchRequest {
    SearchRequest {
        group_ids: groups.iter().map(|g| gid(g)).collect(),
        probes: vec![Descriptor::new(probe).unwrap()],
        max_person_num,
        by_group: false,
        max_distance: None,
        need_person_info: false,
        strategy: Strategy::Auto,
    }
}

/// 40 identities: p0..p19 in g1, p20..p39 in g2, p5 copied into g2; two photos each.
async fn enrol(g: &Gallery, a: &AccountId) -> Vec<Vec<f32>> {
    let mut synth = synthetic(7);
    g.create_group(a, &new_group("g1", "n1", &["工号"]))
        .await
        .unwrap();
    g.create_group(a, &new_group("g2", "n2", &[]))
        .await
        .unwrap();
    let mut identities = Vec::new();
    for i in 0..40 {
        let id = synth.identity();
        let group = if i < 20 { "g1" } else { "g2" };
        let mut p = new_person(group, &format!("p{i}"), Some(face(synth.photo(&id))));
        if i < 20 {
            p.ex_descriptions = vec![PersonDescription {
                index: 0,
                value: format!("E{i}"),
            }];
        }
        g.create_person(a, &p).await.unwrap();
        g.create_faces(a, &pid(&format!("p{i}")), &[face(synth.photo(&id))])
            .await
            .unwrap();
        identities.push(id);
    }
    g.copy_person(a, &pid("p5"), &[gid("g2")]).await.unwrap();
    identities
}

#[tokio::test]
async fn search_finds_the_right_person_with_bounds_and_groups() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        let ids = enrol(&g, &a).await;
        let mut synth = synthetic(99);

        // A new photo of p3 finds p3 first, within its faces' spread.
        let probe = synth.photo(&ids[3]);
        let res = g.search(&a, &request(&["g1", "g2"], probe.clone(), 5)).await.unwrap();
        assert_eq!(res.face_num, 40 + 40 + 2);
        assert_eq!(res.person_num, 41);
        assert_eq!(res.face_model_version, FaceModelVersion::V3);
        let r = &res.results[0];
        assert_eq!(r.persons.len(), 5);
        assert_eq!(r.persons[0].person_id, pid("p3"));
        assert!(r.persons[0].distance < 0.6, "{}", r.persons[0].distance);
        assert!(r.persons[1].distance > 0.6, "{}", r.persons[1].distance);
        // Persons are distinct and ranked; the two faces of p3 lead the face list.
        assert!(r.persons.windows(2).all(|w| w[0].distance <= w[1].distance));
        assert_eq!(r.faces[0].person_id, pid("p3"));
        assert_eq!(r.faces[1].person_id, pid("p3"));
        assert!(r.faces.len() <= 25);

        // Only the other group: p3 is not there.
        let res = g.search(&a, &request(&["g2"], probe.clone(), 3)).await.unwrap();
        assert!(res.results[0].persons.iter().all(|p| p.person_id != pid("p3")));

        // A distance bound keeps only the match.
        let mut bounded = request(&["g1", "g2"], probe.clone(), 10);
        bounded.max_distance = Some(0.6);
        bounded.need_person_info = true;
        let res = g.search(&a, &bounded).await.unwrap();
        assert_eq!(res.results[0].persons.len(), 1);
        let info = &res.person_info[&pid("p3")];
        assert_eq!(info.person.name, "name_p3");
        assert_eq!(info.person.face_ids.len(), 2);
        assert_eq!(info.groups.len(), 1);
        assert_eq!(info.groups[0].ex_descriptions, vec!["E3"]);

        // p5 is in both groups: found once overall, and in each group by group.
        let probe5 = synth.photo(&ids[5]);
        let res = g.search(&a, &request(&["g1", "g2"], probe5.clone(), 3)).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("p5"));
        assert_ne!(res.results[0].persons[1].person_id, pid("p5"));
        let mut by_group = request(&["g1", "g2"], probe5, 2);
        by_group.by_group = true;
        let res = g.search(&a, &by_group).await.unwrap();
        let groups = &res.results[0].by_group;
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].group_id, gid("g1"));
        assert_eq!(groups[1].group_id, gid("g2"));
        assert!(groups.iter().all(|gh| gh.persons[0].person_id == pid("p5")));
        assert!(groups.iter().all(|gh| gh.persons.len() == 2));

        // Several probes: one result each, in order.
        let mut multi = request(&["g1", "g2"], synth.photo(&ids[30]), 1);
        multi.probes.push(Descriptor::new(synth.photo(&ids[10])).unwrap());
        let res = g.search(&a, &multi).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("p30"));
        assert_eq!(res.results[1].persons[0].person_id, pid("p10"));

        // Exact strategy agrees (the groups are small, so Auto is exact too).
        let mut exact = request(&["g1", "g2"], probe, 5);
        exact.strategy = Strategy::Exact;
        assert_eq!(g.search(&a, &exact).await.unwrap().results[0].persons[0].person_id, pid("p3"));
    });
}

#[tokio::test]
async fn search_refusals_map_to_their_errors() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        enrol(&g, &a).await;
        let probe = vec![0.0; DIM];
        assert!(matches!(
            g.search(&a, &request(&["g1", "nope"], probe.clone(), 5)).await,
            Err(GalleryError::GroupNotFound(id)) if id == "nope"
        ));
        // Another account has no such groups.
        assert!(matches!(
            g.search(&acct("b"), &request(&["g1"], probe.clone(), 5)).await,
            Err(GalleryError::GroupNotFound(_))
        ));
        assert!(matches!(
            g.search(&a, &request(&["g1"], probe.clone(), 101)).await,
            Err(GalleryError::OutOfRange { field: Field::MaxPersonNum, .. })
        ));
        let mut by_group = request(&["g1"], probe.clone(), 11);
        by_group.by_group = true;
        assert!(matches!(
            g.search(&a, &by_group).await,
            Err(GalleryError::OutOfRange { field: Field::MaxPersonNumPerGroup, .. })
        ));
        let many: Vec<String> = (0..101).map(|i| format!("x{i}")).collect();
        let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
        assert!(matches!(
            g.search(&a, &request(&many, probe.clone(), 5)).await,
            Err(GalleryError::TooMany { field: Field::GroupIds, max: 100, .. })
        ));
        assert!(matches!(
            g.search(&a, &request(&["g1"], vec![0.0; 3], 5)).await,
            Err(GalleryError::Descriptor(_))
        ));
        g.create_group(&a, &new_group("empty", "empty", &[])).await.unwrap();
        assert!(matches!(
            g.search(&a, &request(&["empty"], probe.clone(), 5)).await,
            Err(GalleryError::NoFaceInGroups)
        ));
        let mut v2 = new_group("old", "old", &[]);
        v2.face_model_version = FaceModelVersion::V2;
        g.create_group(&a, &v2).await.unwrap();
        assert!(matches!(
            g.search(&a, &request(&["g1", "old"], probe, 5)).await,
            Err(GalleryError::AcrossModelVersions)
        ));
    });
}

#[tokio::test]
async fn two_nodes_on_one_database_see_each_others_writes() {
    on_both!(db => {
        let node_a = db.gallery().await;
        let node_b = db.gallery().await;
        let acc = acct("a");
        let ids = enrol(&node_a, &acc).await;
        let mut synth = synthetic(5);

        // Node B loads its index.
        let res = node_b.search(&acc, &request(&["g1"], synth.photo(&ids[1]), 1)).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("p1"));

        // Enrol through A; B finds the newcomer on its very next search.
        let newcomer = synth.identity();
        node_a
            .create_person(&acc, &new_person("g1", "new", Some(face(synth.photo(&newcomer)))))
            .await
            .unwrap();
        let res = node_b.search(&acc, &request(&["g1"], synth.photo(&newcomer), 1)).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("new"));
        assert_eq!(node_b.index_stats(&acc, &gid("g1")), Some((41, false)));

        // A face added to p1 through A is found through B.
        let added = node_a
            .create_faces(&acc, &pid("p1"), &[face(synth.photo(&ids[1]))])
            .await
            .unwrap();
        let res = node_b.search(&acc, &request(&["g1"], synth.photo(&ids[1]), 1)).await.unwrap();
        assert_eq!(res.results[0].faces.iter().filter(|f| f.person_id == pid("p1")).count(), 3);
        assert!(res.results[0].faces.iter().any(|f| f.face_id == added[0]));

        // Deleted through A: gone from B's answers.
        node_a.delete_person(&acc, &pid("new")).await.unwrap();
        let res = node_b.search(&acc, &request(&["g1"], synth.photo(&newcomer), 3)).await.unwrap();
        assert!(res.results[0].persons.iter().all(|p| p.person_id != pid("new")));
        node_a.delete_person_from_group(&acc, &gid("g2"), &pid("p5")).await.unwrap();
        let res = node_b.search(&acc, &request(&["g2"], synth.photo(&ids[5]), 3)).await.unwrap();
        assert!(res.results[0].persons.iter().all(|p| p.person_id != pid("p5")));

        // A group deleted and re-created under the same id through A: B sees only
        // the new group's faces.
        node_a.delete_group(&acc, &gid("g2")).await.unwrap();
        assert!(matches!(
            node_b.search(&acc, &request(&["g2"], synth.photo(&ids[25]), 1)).await,
            Err(GalleryError::GroupNotFound(_))
        ));
        node_a.create_group(&acc, &new_group("g2", "again", &[])).await.unwrap();
        node_a
            .create_person(&acc, &new_person("g2", "solo", Some(face(synth.photo(&ids[25])))))
            .await
            .unwrap();
        let res = node_b.search(&acc, &request(&["g2"], synth.photo(&ids[25]), 5)).await.unwrap();
        let found: Vec<_> = res.results[0].persons.iter().map(|p| p.person_id.clone()).collect();
        assert_eq!(found, vec![pid("solo")]);

        // A change log pruned past B's revision: B notices the gap and reloads.
        let late = synth.identity();
        node_a
            .create_person(&acc, &new_person("g2", "late", Some(face(synth.photo(&late)))))
            .await
            .unwrap();
        assert!(node_a.prune_change_log(Duration::ZERO).await.unwrap() >= 1);
        let res = node_b.search(&acc, &request(&["g2"], synth.photo(&late), 5)).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("late"));
        assert_eq!(res.results[0].persons.len(), 2);
    });
}

/// `n_identities` identities, five photos each, in one index; probes are new photos
/// of every tenth identity, and photos of 100 strangers.
fn recall_fixture(n_identities: usize) -> (FaceIndex, Vec<Vec<f32>>) {
    let mut synth = synthetic(11);
    let mut index = FaceIndex::new(DIM, IndexConfig::default());
    let mut probes = Vec::new();
    for i in 0..n_identities {
        let id = synth.identity();
        for j in 0..5 {
            index.insert(
                FaceId::from_request(format!("f{i}_{j}")),
                pid(&format!("p{i}")),
                &synth.photo(&id),
            );
        }
        if i % 10 == 0 {
            probes.push(synth.photo(&id));
        }
    }
    // Strangers: nobody enrolled.
    for _ in 0..100 {
        let stranger = synth.identity();
        probes.push(synth.photo(&stranger));
    }
    (index, probes)
}

#[test]
fn ivf_top1_recall_is_at_least_099_against_exact() {
    let (mut index, probes) = recall_fixture(1_000);
    assert_eq!(index.len(), 5_000);
    let exact: Vec<_> = probes
        .iter()
        .map(|p| index.nearest(p, 1, f32::INFINITY, Strategy::Exact))
        .collect();
    index.build_ann();
    assert!(index.has_ann());
    let mut agree = 0;
    for (p, want) in probes.iter().zip(&exact) {
        let got = index.nearest(p, 1, f32::INFINITY, Strategy::Auto);
        if got[0].face_id == want[0].face_id {
            agree += 1;
        }
    }
    let recall = agree as f64 / probes.len() as f64;
    eprintln!("top-1 recall {recall:.4} over {} probes", probes.len());
    assert!(recall >= 0.99, "top-1 recall {recall}");
}

#[tokio::test]
async fn large_groups_switch_to_the_inverted_file_and_stay_right() {
    on_both!(db => {
        let mut config = GalleryConfig::default();
        config.index.ann_min_faces = 300;
        let g = db.gallery_with(config).await;
        let a = acct("a");
        g.create_group(&a, &new_group("big", "big", &[])).await.unwrap();
        let mut synth = synthetic(3);
        let mut ids = Vec::new();
        for i in 0..320 {
            let id = synth.identity();
            g.create_person(&a, &new_person("big", &format!("p{i}"), Some(face(synth.photo(&id)))))
                .await
                .unwrap();
            ids.push(id);
        }
        // The first search loads the group and starts the inverted file in the background.
        let res = g.search(&a, &request(&["big"], synth.photo(&ids[7]), 3)).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("p7"));
        let started = Instant::now();
        while g.index_stats(&a, &gid("big")) != Some((320, true)) {
            assert!(started.elapsed() < Duration::from_secs(60), "inverted file never installed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Enrolments after the build go into the inverted file and are found at once.
        let late = synth.identity();
        g.create_person(&a, &new_person("big", "late", Some(face(synth.photo(&late)))))
            .await
            .unwrap();
        let res = g.search(&a, &request(&["big"], synth.photo(&late), 1)).await.unwrap();
        assert_eq!(res.results[0].persons[0].person_id, pid("late"));
        assert_eq!(g.index_stats(&a, &gid("big")), Some((321, true)));
        for i in (0..320).step_by(16) {
            let res = g.search(&a, &request(&["big"], synth.photo(&ids[i]), 1)).await.unwrap();
            assert_eq!(res.results[0].persons[0].person_id, pid(&format!("p{i}")));
        }
        // Deleted faces are skipped in the inverted file's answers.
        g.delete_person(&a, &pid("p7")).await.unwrap();
        let res = g.search(&a, &request(&["big"], synth.photo(&ids[7]), 3)).await.unwrap();
        assert!(res.results[0].persons.iter().all(|p| p.person_id != pid("p7")));
    });
}
