//! Descriptor versions: rows stored before versions were read as version 1, new groups
//! get the version asked for, and descriptors of two versions never meet (a person
//! joining a group, a face added to a person, a search across groups).

use crate::common;

use common::*;
use gallery::*;

fn group_at(id: &str, version: u32) -> NewGroup {
    NewGroup {
        descriptor_version: version,
        ..new_group(id, &format!("name_{id}"), &[])
    }
}

fn face_at(value: f32, version: u32) -> NewFace {
    NewFace {
        descriptor_version: version,
        ..flat(value)
    }
}

#[tokio::test]
async fn versions_are_stored_and_rows_from_before_are_version_1() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        let created = g.create_group(&a, &group_at("new", 2)).await.unwrap();
        assert_eq!(created.descriptor_version, 2);
        assert_eq!(g.group(&a, &gid("new")).await.unwrap().descriptor_version, 2);
        let p = g
            .create_person(&a, &new_person("new", "p2", Some(face_at(0.1, 2))))
            .await
            .unwrap();
        assert_eq!(p.descriptor_version, 2);
        assert_eq!(g.person_descriptor_version(&a, &pid("p2")).await.unwrap(), 2);
        let faces = g.person_faces(&a, &pid("p2")).await.unwrap();
        assert_eq!(faces[0].descriptor_version, 2);

        // What the migration gives every row written before it: version 1. Written here
        // as the columns' default, as the rows of a database migrated from schema 3 read.
        let pool = db.pool().await;
        sqlx::query(
            "INSERT INTO gallery_groups (account_id, group_id, incarnation, group_name, tag,
                ex_descriptions, face_model_version, created_us, updated_us, revision,
                person_count, face_count)
             VALUES ('a', 'old', 7, 'old', '', '[]', '3.0', 0, 0, 0, 0, 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(g.group(&a, &gid("old")).await.unwrap().descriptor_version, 1);
        let p = g
            .create_person(&a, &new_person("old", "p1", Some(face_at(0.1, 1))))
            .await
            .unwrap();
        assert_eq!(p.descriptor_version, 1);
        assert_eq!(g.person_descriptor_version(&a, &pid("p1")).await.unwrap(), 1);
    });
}

#[tokio::test]
async fn descriptors_of_two_versions_never_meet() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("a");
        g.create_group(&a, &group_at("v1", 1)).await.unwrap();
        g.create_group(&a, &group_at("v2", 2)).await.unwrap();
        g.create_group(&a, &group_at("v2b", 2)).await.unwrap();
        // A face of the other version cannot found a person in a group…
        assert!(matches!(
            g.create_person(&a, &new_person("v2", "x", Some(face_at(0.1, 1)))).await,
            Err(GalleryError::DescriptorVersionMismatch { expected: 2, actual: 1, .. })
        ));
        g.create_person(&a, &new_person("v1", "p1", Some(face_at(0.1, 1))))
            .await
            .unwrap();
        g.create_person(&a, &new_person("v2", "p2", Some(face_at(0.2, 2))))
            .await
            .unwrap();
        // … nor join a person of the other version…
        let refused = g.create_faces(&a, &pid("p1"), &[face_at(0.3, 2)]).await;
        assert!(
            matches!(
                refused,
                Err(GalleryError::DescriptorVersionMismatch { expected: 1, actual: 2, .. })
            ),
            "{refused:?}"
        );
        assert_eq!(g.person_faces(&a, &pid("p1")).await.unwrap().len(), 1);
        // … and a person cannot join a group of the other version, with a message that
        // says why.
        let refused = g.copy_person(&a, &pid("p1"), &[gid("v2")]).await;
        let Err(e @ GalleryError::DescriptorVersionMismatch { .. }) = refused else {
            panic!("{refused:?}");
        };
        let message = e.to_string();
        assert!(message.contains("person p1 holds version-1"), "{message}");
        assert!(message.contains("group v2 version-2"), "{message}");
        assert!(g.person_groups(&a, &pid("p1"), Some(0), Some(10)).await.unwrap().0.total == 1);
        // Same version: fine.
        g.copy_person(&a, &pid("p2"), &[gid("v2b")]).await.unwrap();

        // A search across versions is refused; one version at a time answers with the
        // version and each hit's descriptor.
        let req = |groups: &[&str]| SearchRequest {
            group_ids: groups.iter().map(|g| gid(g)).collect(),
            probes: vec![Descriptor::new(vec![0.2; DIM]).unwrap()],
            max_person_num: 5,
            by_group: false,
            max_distance: None,
            need_person_info: false,
            strategy: Strategy::Auto,
        };
        assert!(matches!(
            g.search(&a, &req(&["v1", "v2"])).await,
            Err(GalleryError::AcrossDescriptorVersions(1, 2))
        ));
        let resp = g.search(&a, &req(&["v2", "v2b"])).await.unwrap();
        assert_eq!(resp.descriptor_version, 2);
        let hit = &resp.results[0].persons[0];
        assert_eq!(hit.person_id.as_str(), "p2");
        assert_eq!(hit.descriptor.as_slice(), &[0.2; DIM][..]);
        assert_eq!(resp.results[0].faces[0].descriptor.as_slice(), &[0.2; DIM][..]);
        let resp = g.search(&a, &req(&["v1"])).await.unwrap();
        assert_eq!(resp.descriptor_version, 1);
        assert_eq!(resp.results[0].persons[0].descriptor.as_slice(), &[0.1; DIM][..]);
    });
}
