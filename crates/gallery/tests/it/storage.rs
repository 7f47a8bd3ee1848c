//! Groups, persons and faces on SQLite and PostgreSQL.

use crate::common;

use common::*;
use gallery::*;

#[tokio::test]
async fn groups_are_created_listed_modified_and_deleted() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("acct-a");
        let created = g
            .create_group(&a, &new_group("g1", "员工库", &["学号", "工号"]))
            .await
            .unwrap();
        assert_eq!(created.ex_descriptions, vec!["学号", "工号"]);
        assert!(created.created_ms > 1_600_000_000_000);

        assert!(matches!(
            g.create_group(&a, &new_group("g1", "other", &[])).await,
            Err(GalleryError::GroupIdAlreadyExists(id)) if id == "g1"
        ));
        assert!(matches!(
            g.create_group(&a, &new_group("g2", "员工库", &[])).await,
            Err(GalleryError::GroupNameAlreadyExists(_))
        ));
        assert!(matches!(
            g.create_group(&a, &new_group("g2", "x", &["a", "b", "c", "d", "e", "f"])).await,
            Err(GalleryError::TooMany { field: Field::GroupExDescriptions, len: 6, max: 5 })
        ));
        assert!(matches!(
            g.create_group(&a, &new_group("g2", "x", &["a", "a"])).await,
            Err(GalleryError::DuplicateGroupDescription(_))
        ));
        assert!(matches!(
            g.create_group(&a, &new_group("g2", "bad\tname", &[])).await,
            Err(GalleryError::FieldCharacter { field: Field::GroupName, ch: '\t' })
        ));

        for i in 2..=12 {
            g.create_group(&a, &new_group(&format!("g{i}"), &format!("n{i}"), &[]))
                .await
                .unwrap();
        }
        // Another account sees none of it, and may reuse ids and names.
        let b = acct("acct-b");
        assert_eq!(g.list_groups(&b, None, None).await.unwrap().total, 0);
        g.create_group(&b, &new_group("g1", "员工库", &[])).await.unwrap();
        assert!(matches!(
            g.group(&b, &gid("g2")).await,
            Err(GalleryError::GroupNotFound(_))
        ));

        let first = g.list_groups(&a, None, None).await.unwrap();
        assert_eq!(first.total, 12);
        assert_eq!(first.items.len(), 10);
        assert_eq!(first.items[0].group_id.as_str(), "g1");
        let rest = g.list_groups(&a, Some(10), Some(1000)).await.unwrap();
        assert_eq!(rest.items.len(), 2);
        assert!(matches!(
            g.list_groups(&a, None, Some(1001)).await,
            Err(GalleryError::OutOfRange { field: Field::Limit, .. })
        ));

        g.modify_group(
            &a,
            &gid("g1"),
            &GroupChanges {
                name: Some("新名字".into()),
                tag: Some("备注".into()),
                ex_descriptions: vec![(1, "手机号".into()), (2, "邮箱".into())],
            },
        )
        .await
        .unwrap();
        let info = g.group(&a, &gid("g1")).await.unwrap();
        assert_eq!(info.name, "新名字");
        assert_eq!(info.tag, "备注");
        assert_eq!(info.ex_descriptions, vec!["学号", "手机号", "邮箱"]);
        assert!(matches!(
            g.modify_group(
                &a,
                &gid("g1"),
                &GroupChanges { name: Some("n2".into()), ..Default::default() }
            )
            .await,
            Err(GalleryError::GroupNameAlreadyExists(_))
        ));
        assert!(matches!(
            g.modify_group(
                &a,
                &gid("g1"),
                &GroupChanges { ex_descriptions: vec![(0, "邮箱".into())], ..Default::default() }
            )
            .await,
            Err(GalleryError::DuplicateGroupDescription(_))
        ));
        assert!(matches!(
            g.modify_group(
                &a,
                &gid("g1"),
                &GroupChanges { ex_descriptions: vec![(7, "x".into())], ..Default::default() }
            )
            .await,
            Err(GalleryError::OutOfRange { .. })
        ));

        g.delete_group(&a, &gid("g1")).await.unwrap();
        assert!(matches!(
            g.delete_group(&a, &gid("g1")).await,
            Err(GalleryError::GroupNotFound(_))
        ));
        assert_eq!(g.list_groups(&a, None, None).await.unwrap().total, 11);
        // The name is free again.
        g.create_group(&a, &new_group("g1", "新名字", &[])).await.unwrap();
    });
}

#[tokio::test]
async fn account_group_limit_is_enforced() {
    on_both!(db => {
        let mut config = GalleryConfig::default();
        config.limits.max_groups_per_account = 2;
        let g = db.gallery_with(config).await;
        let a = acct("a");
        g.create_group(&a, &new_group("g1", "n1", &[])).await.unwrap();
        g.create_group(&a, &new_group("g2", "n2", &[])).await.unwrap();
        assert!(matches!(
            g.create_group(&a, &new_group("g3", "n3", &[])).await,
            Err(GalleryError::GroupCountLimit { max: 2 })
        ));
    });
}

#[tokio::test]
async fn persons_live_in_groups_with_descriptions() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        g.create_group(&a, &new_group("g1", "n1", &["学号", "工号"])).await.unwrap();
        g.create_group(&a, &new_group("g2", "n2", &["部门"])).await.unwrap();

        let mut p = new_person("g1", "p1", Some(flat(0.1)));
        p.name = "张三".into();
        p.gender = Gender::Male;
        p.ex_descriptions = vec![PersonDescription { index: 1, value: "E-42".into() }];
        let created = g.create_person(&a, &p).await.unwrap();
        let face_id = created.face_id.clone().unwrap();
        assert_eq!(created.face_model_version, FaceModelVersion::V3);

        assert!(matches!(
            g.create_person(&a, &new_person("g2", "p1", Some(flat(0.2)))).await,
            Err(GalleryError::PersonIdAlreadyExists(_))
        ));
        assert!(matches!(
            g.create_person(&a, &new_person("nope", "p2", Some(flat(0.2)))).await,
            Err(GalleryError::GroupNotFound(_))
        ));
        let mut bad = new_person("g1", "p2", Some(flat(0.2)));
        bad.ex_descriptions = vec![PersonDescription { index: 2, value: "x".into() }];
        assert!(matches!(
            g.create_person(&a, &bad).await,
            Err(GalleryError::PersonDescriptionIndex { index: 2, defined: 2 })
        ));
        let mut bad = new_person("g1", "p2", Some(face(vec![0.0; 64])));
        bad.name = "ok".into();
        assert!(matches!(g.create_person(&a, &bad).await, Err(GalleryError::Descriptor(_))));

        let base = g.person(&a, &pid("p1")).await.unwrap();
        assert_eq!(base.name, "张三");
        assert_eq!(base.gender, Gender::Male);
        assert_eq!(base.face_ids, vec![face_id.clone()]);

        g.modify_person_base_info(&a, &pid("p1"), Some("李四"), None).await.unwrap();
        let base = g.person(&a, &pid("p1")).await.unwrap();
        assert_eq!((base.name.as_str(), base.gender), ("李四", Gender::Male));
        g.modify_person_base_info(&a, &pid("p1"), None, Some(Gender::Female)).await.unwrap();
        assert_eq!(g.person(&a, &pid("p1")).await.unwrap().gender, Gender::Female);
        assert!(matches!(
            g.modify_person_base_info(&a, &pid("ghost"), Some("x"), None).await,
            Err(GalleryError::PersonNotFound(_))
        ));

        // Copy: into g2 (and g1 again, which is skipped).
        let added = g.copy_person(&a, &pid("p1"), &[gid("g2"), gid("g1")]).await.unwrap();
        assert_eq!(added, vec![gid("g2")]);
        assert!(matches!(
            g.copy_person(&a, &pid("p1"), &[gid("missing")]).await,
            Err(GalleryError::GroupNotFound(_))
        ));
        let (groups, version) = g.person_groups(&a, &pid("p1"), None, None).await.unwrap();
        assert_eq!(version, FaceModelVersion::V3);
        assert_eq!(groups.total, 2);
        assert_eq!(groups.items[0].group_id, gid("g1"));
        assert_eq!(groups.items[0].ex_descriptions, vec!["", "E-42"]);
        // Descriptions are not copied.
        assert_eq!(groups.items[1].ex_descriptions, vec![""]);

        g.modify_person_group_info(
            &a,
            &gid("g2"),
            &pid("p1"),
            &[PersonDescription { index: 0, value: "研发".into() }],
        )
        .await
        .unwrap();
        let (groups, _) = g.person_groups(&a, &pid("p1"), Some(1), Some(100)).await.unwrap();
        assert_eq!(groups.items.len(), 1);
        assert_eq!(groups.items[0].ex_descriptions, vec!["研发"]);

        // A second person with two faces in g1.
        g.create_person(&a, &new_person("g1", "p2", Some(flat(0.3)))).await.unwrap();
        g.create_faces(&a, &pid("p2"), &[flat(0.31)]).await.unwrap();
        let list = g.list_persons(&a, &gid("g1"), None, None).await.unwrap();
        assert_eq!(list.members.total, 2);
        assert_eq!(list.face_num, 3);
        assert_eq!(list.members.items[0].person.person_id, pid("p1"));
        assert_eq!(list.members.items[0].ex_descriptions, vec!["", "E-42"]);
        assert_eq!(list.members.items[1].person.face_ids.len(), 2);
        assert_eq!(g.person_list_num(&a, &gid("g1")).await.unwrap(), (2, 3));
        assert_eq!(g.person_list_num(&a, &gid("g2")).await.unwrap(), (1, 1));
        let page = g.list_persons(&a, &gid("g1"), Some(1), Some(1)).await.unwrap();
        assert_eq!(page.members.items.len(), 1);
        assert_eq!(page.members.items[0].person.person_id, pid("p2"));

        // Out of g1: p1 stays (it is in g2), p2 goes entirely.
        g.delete_person_from_group(&a, &gid("g1"), &pid("p1")).await.unwrap();
        assert!(matches!(
            g.delete_person_from_group(&a, &gid("g1"), &pid("p1")).await,
            Err(GalleryError::PersonNotInGroup { .. })
        ));
        assert!(g.person(&a, &pid("p1")).await.is_ok());
        g.delete_person_from_group(&a, &gid("g1"), &pid("p2")).await.unwrap();
        assert!(matches!(
            g.person(&a, &pid("p2")).await,
            Err(GalleryError::PersonNotFound(_))
        ));
        assert_eq!(g.person_list_num(&a, &gid("g1")).await.unwrap(), (0, 0));

        // The id is free again, in another account too.
        g.create_person(&a, &new_person("g1", "p2", Some(flat(0.3)))).await.unwrap();
        g.create_group(&acct("b"), &new_group("g1", "n1", &[])).await.unwrap();
        g.create_person(&acct("b"), &new_person("g1", "p1", Some(flat(0.3)))).await.unwrap();
        assert!(matches!(
            g.copy_person(&acct("b"), &pid("p1"), &[gid("g2")]).await,
            Err(GalleryError::GroupNotFound(_))
        ));

        g.delete_person(&a, &pid("p1")).await.unwrap();
        assert!(matches!(
            g.delete_person(&a, &pid("p1")).await,
            Err(GalleryError::PersonNotFound(_))
        ));
        assert_eq!(g.person_list_num(&a, &gid("g2")).await.unwrap(), (0, 0));
        assert!(g.person(&acct("b"), &pid("p1")).await.is_ok());
    });
}

#[tokio::test]
async fn deleting_a_group_keeps_persons_that_are_elsewhere() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        g.create_group(&a, &new_group("g1", "n1", &[])).await.unwrap();
        g.create_group(&a, &new_group("g2", "n2", &[])).await.unwrap();
        g.create_person(&a, &new_person("g1", "both", Some(flat(0.1)))).await.unwrap();
        g.create_person(&a, &new_person("g1", "only", Some(flat(0.2)))).await.unwrap();
        g.copy_person(&a, &pid("both"), &[gid("g2")]).await.unwrap();
        g.delete_group(&a, &gid("g1")).await.unwrap();
        assert!(matches!(
            g.person(&a, &pid("only")).await,
            Err(GalleryError::PersonNotFound(_))
        ));
        let (groups, _) = g.person_groups(&a, &pid("both"), None, None).await.unwrap();
        assert_eq!(groups.total, 1);
        assert_eq!(groups.items[0].group_id, gid("g2"));
        assert_eq!(g.person_list_num(&a, &gid("g2")).await.unwrap(), (1, 1));
        // "both" now has one group: leaving it deletes the person.
        g.delete_person_from_group(&a, &gid("g2"), &pid("both")).await.unwrap();
        assert!(g.person(&a, &pid("both")).await.is_err());
    });
}

#[tokio::test]
async fn faces_are_limited_to_five_per_person() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        g.create_group(&a, &new_group("g1", "n1", &[])).await.unwrap();
        let first = g
            .create_person(&a, &new_person("g1", "p", Some(flat(0.1))))
            .await
            .unwrap()
            .face_id
            .unwrap();
        assert!(matches!(
            g.create_faces(&a, &pid("p"), &[flat(0.1), flat(0.1), flat(0.1), flat(0.1), flat(0.1)])
                .await,
            Err(GalleryError::UploadFaceLimit { got: 5, max: 4 })
        ));
        let ids = g.create_faces(&a, &pid("p"), &[flat(0.2), flat(0.3), flat(0.4)]).await.unwrap();
        assert_eq!(ids.len(), 3);
        assert!(matches!(
            g.create_faces(&a, &pid("p"), &[flat(0.5), flat(0.6)]).await,
            Err(GalleryError::PersonFaceLimit { existing: 4, adding: 2, max: 5 })
        ));
        g.create_faces(&a, &pid("p"), &[flat(0.5)]).await.unwrap();
        assert!(matches!(
            g.create_faces(&a, &pid("ghost"), &[flat(0.5)]).await,
            Err(GalleryError::PersonNotFound(_))
        ));

        let faces = g.person_faces(&a, &pid("p")).await.unwrap();
        assert_eq!(faces.len(), 5);
        assert_eq!(faces[0].face_id, first);
        assert_eq!(faces[0].descriptor.as_slice(), &[0.1f32; DIM][..]);
        assert_eq!(faces[0].rect, FaceRect { x: 10, y: 20, width: 100, height: 120 });

        // Unknown ids are ignored when some are the person's.
        let deleted = g
            .delete_faces(&a, &pid("p"), &[ids[0].clone(), FaceId::from_request("nope")])
            .await
            .unwrap();
        assert_eq!(deleted, vec![ids[0].clone()]);
        assert!(matches!(
            g.delete_faces(&a, &pid("p"), &[FaceId::from_request("nope")]).await,
            Err(GalleryError::FaceNotFound(_))
        ));
        // Another account cannot touch them.
        assert!(matches!(
            g.delete_faces(&acct("b"), &pid("p"), std::slice::from_ref(&first)).await,
            Err(GalleryError::PersonNotFound(_))
        ));
        let all: Vec<FaceId> = g.person(&a, &pid("p")).await.unwrap().face_ids;
        assert_eq!(all.len(), 4);
        assert!(matches!(
            g.delete_faces(&a, &pid("p"), &all).await,
            Err(GalleryError::LastFace)
        ));
        g.delete_faces(&a, &pid("p"), &all[1..]).await.unwrap();
        assert_eq!(g.person(&a, &pid("p")).await.unwrap().face_ids, vec![first]);
        assert_eq!(g.person_list_num(&a, &gid("g1")).await.unwrap(), (1, 1));
    });
}

#[tokio::test]
async fn concurrent_create_face_never_exceeds_five() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        g.create_group(&a, &new_group("g1", "n1", &[])).await.unwrap();
        g.create_group(&a, &new_group("g2", "n2", &[])).await.unwrap();
        g.create_person(&a, &new_person("g1", "p", Some(flat(0.1)))).await.unwrap();
        g.copy_person(&a, &pid("p"), &[gid("g2")]).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let g = g.clone();
            let a = a.clone();
            tasks.push(tokio::spawn(async move {
                g.create_faces(&a, &pid("p"), &[flat(0.2 + i as f32 * 0.01)]).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(GalleryError::PersonFaceLimit { .. }) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(ok, 4);
        assert_eq!(g.person(&a, &pid("p")).await.unwrap().face_ids.len(), 5);
        assert_eq!(g.person_list_num(&a, &gid("g1")).await.unwrap(), (1, 5));
        assert_eq!(g.person_list_num(&a, &gid("g2")).await.unwrap(), (1, 5));
    });
}

#[tokio::test]
async fn a_person_is_in_at_most_100_groups() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        let mut ids = Vec::new();
        for i in 0..101 {
            g.create_group(&a, &new_group(&format!("g{i}"), &format!("n{i}"), &[]))
                .await
                .unwrap();
            ids.push(gid(&format!("g{i}")));
        }
        g.create_person(&a, &new_person("g0", "p", Some(flat(0.1)))).await.unwrap();
        assert!(matches!(
            g.copy_person(&a, &pid("p"), &ids[1..]).await,
            Err(GalleryError::GroupsPerPersonLimit { max: 100 })
        ));
        assert_eq!(g.copy_person(&a, &pid("p"), &ids[1..100]).await.unwrap().len(), 99);
        assert!(matches!(
            g.copy_person(&a, &pid("p"), &ids[100..]).await,
            Err(GalleryError::GroupsPerPersonLimit { max: 100 })
        ));
        let (groups, _) = g.person_groups(&a, &pid("p"), None, Some(100)).await.unwrap();
        assert_eq!(groups.total, 100);
        assert_eq!(groups.items.len(), 100);
    });
}

#[tokio::test]
async fn model_versions_do_not_mix() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        g.create_group(&a, &new_group("g3", "n3", &[])).await.unwrap();
        let mut v2 = new_group("g2", "n2", &[]);
        v2.face_model_version = FaceModelVersion::V2;
        g.create_group(&a, &v2).await.unwrap();
        g.create_person(&a, &new_person("g3", "p", Some(flat(0.1)))).await.unwrap();
        assert!(matches!(
            g.copy_person(&a, &pid("p"), &[gid("g2")]).await,
            Err(GalleryError::AcrossModelVersions)
        ));
        // Nothing of the failed copy remains.
        assert_eq!(g.person_list_num(&a, &gid("g2")).await.unwrap(), (0, 0));
    });
}

#[tokio::test]
async fn migrations_run_twice_and_from_two_nodes() {
    on_both!(db => {
        let (x, y) = tokio::join!(db.gallery(), db.gallery());
        x.create_group(&acct("a"), &new_group("g", "n", &[])).await.unwrap();
        assert_eq!(y.list_groups(&acct("a"), None, None).await.unwrap().total, 1);
        let z = db.gallery().await;
        assert_eq!(z.list_groups(&acct("a"), None, None).await.unwrap().total, 1);
    });
}

/// The fence between an enrolment's write and the billing's reconciliation: a RequestId
/// that wrote is reported enrolled (even after its person is deleted); one that did not is
/// abandoned by the claim and can no longer write; claims racing writes agree with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrolments_are_fenced_by_request_id() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("acct-e");
        g.create_group(&a, &new_group("g", "g", &[])).await.unwrap();
        g.create_person_for(&a, &new_person("g", "p1", Some(flat(0.1))), "req-p1")
            .await
            .unwrap();
        g.create_faces_for(&a, &pid("p1"), &[flat(0.2)], "req-f1")
            .await
            .unwrap();
        assert!(g.claim_enrolment(&a, "req-p1").await.unwrap());
        assert!(g.claim_enrolment(&a, "req-f1").await.unwrap());
        // Claimed before its write: abandoned, and the late write is refused untouched.
        assert!(!g.claim_enrolment(&a, "req-p2").await.unwrap());
        assert!(!g.claim_enrolment(&a, "req-p2").await.unwrap());
        assert!(matches!(
            g.create_person_for(&a, &new_person("g", "p2", Some(flat(0.3))), "req-p2").await,
            Err(GalleryError::EnrolmentAbandoned(r)) if r == "req-p2"
        ));
        assert!(matches!(g.person(&a, &pid("p2")).await, Err(GalleryError::PersonNotFound(_))));
        assert!(!g.claim_enrolment(&a, "req-f2").await.unwrap());
        assert!(matches!(
            g.create_faces_for(&a, &pid("p1"), &[flat(0.4)], "req-f2").await,
            Err(GalleryError::EnrolmentAbandoned(_))
        ));
        assert_eq!(g.person(&a, &pid("p1")).await.unwrap().face_ids.len(), 2);
        // A failed write records nothing: the RequestId is still open, then claimed.
        assert!(matches!(
            g.create_person_for(&a, &new_person("g", "p1", Some(flat(0.5))), "req-dup").await,
            Err(GalleryError::PersonIdAlreadyExists(_))
        ));
        assert!(!g.claim_enrolment(&a, "req-dup").await.unwrap());
        // Deleting the person later does not undo that the call enrolled.
        g.delete_person(&a, &pid("p1")).await.unwrap();
        assert!(g.claim_enrolment(&a, "req-p1").await.unwrap());

        // Writes and claims of the same RequestIds at once: each id is either written
        // and claimed as enrolled, or abandoned and not written.
        let mut writes = Vec::new();
        let mut claims = Vec::new();
        for i in 0..12 {
            let (g1, g2, a1, a2) = (g.clone(), g.clone(), a.clone(), a.clone());
            let req = format!("race-{i}");
            let req2 = req.clone();
            writes.push(tokio::spawn(async move {
                let person = new_person("g", &format!("r{i}"), Some(flat(0.01 * i as f32)));
                g1.create_person_for(&a1, &person, &req).await
            }));
            claims.push(tokio::spawn(async move { g2.claim_enrolment(&a2, &req2).await }));
        }
        let mut first = 0;
        for (i, (w, c)) in writes.into_iter().zip(claims).enumerate() {
            let written = w.await.unwrap();
            let enrolled = c.await.unwrap().unwrap();
            match &written {
                Ok(_) => first += 1,
                Err(e) => assert!(matches!(e, GalleryError::EnrolmentAbandoned(_)), "{e:?}"),
            }
            assert_eq!(written.is_ok(), enrolled, "race-{i}");
            assert_eq!(g.person(&a, &pid(&format!("r{i}"))).await.is_ok(), enrolled);
        }
        eprintln!("{first} of 12 racing writes came first");
    });
}
