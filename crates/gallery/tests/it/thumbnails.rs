//! Face thumbnails on SQLite and PostgreSQL: stored with their face, deleted with it by
//! every path that deletes faces, read only by their account, and the deployment's
//! setting that turns storing them off, seen by every node.

use crate::common;

use common::*;
use gallery::*;

/// Stand-in bytes: the gallery stores thumbnails as given.
fn jpeg(tag: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, tag];
    bytes.extend(std::iter::repeat_n(tag, 200));
    bytes
}

fn thumbed(value: f32, tag: u8) -> NewFace {
    NewFace {
        thumbnail: Some(jpeg(tag)),
        ..flat(value)
    }
}

fn person_with(group: &str, id: &str, value: f32, tag: u8) -> NewPerson {
    new_person(group, id, Some(thumbed(value, tag)))
}

async fn created(g: &Gallery, a: &AccountId, new: &NewPerson) -> FaceId {
    g.create_person(a, new).await.unwrap().face_id.unwrap()
}

/// Thumbnail rows in the table, and those whose face is gone (must stay 0).
async fn rows(db: &common::Db) -> (i64, i64) {
    let pool = db.pool().await;
    let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gallery_thumbnails")
        .fetch_one(&pool)
        .await
        .unwrap();
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM gallery_thumbnails t WHERE NOT EXISTS (
            SELECT 1 FROM gallery_faces f
            WHERE f.account_id = t.account_id AND f.face_id = t.face_id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    (all, orphans)
}

#[tokio::test]
async fn a_thumbnail_is_stored_with_its_face_and_read_by_its_account_only() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("acct-a");
        let b = acct("acct-b");
        g.create_group(&a, &new_group("g1", "g1", &[])).await.unwrap();
        let f1 = created(&g, &a, &person_with("g1", "p1", 0.01, 1)).await;
        assert_eq!(g.thumbnail(&a, &f1).await.unwrap(), Some(jpeg(1)));
        // Another account cannot read it by its id.
        assert_eq!(g.thumbnail(&b, &f1).await.unwrap(), None);

        // CreateFace: each face with its own thumbnail, or none.
        let ids = g
            .create_faces(&a, &pid("p1"), &[thumbed(0.02, 2), flat(0.03)])
            .await
            .unwrap();
        assert_eq!(g.thumbnail(&a, &ids[0]).await.unwrap(), Some(jpeg(2)));
        assert_eq!(g.thumbnail(&a, &ids[1]).await.unwrap(), None);
        // A person created without one.
        let f4 = created(&g, &a, &new_person("g1", "p2", Some(flat(0.04)))).await;
        assert_eq!(g.thumbnail(&a, &f4).await.unwrap(), None);
        assert_eq!(rows(db).await, (2, 0));

        // A thumbnail too large to be one is refused, and nothing is written.
        let mut big = thumbed(0.05, 5);
        big.thumbnail = Some(vec![0; limits::MAX_THUMBNAIL_BYTES + 1]);
        assert!(matches!(
            g.create_person(&a, &new_person("g1", "p3", Some(big.clone()))).await,
            Err(GalleryError::ThumbnailTooLarge { .. })
        ));
        assert!(matches!(
            g.person(&a, &pid("p3")).await,
            Err(GalleryError::PersonNotFound(_))
        ));
        assert!(matches!(
            g.create_faces(&a, &pid("p1"), &[big]).await,
            Err(GalleryError::ThumbnailTooLarge { .. })
        ));
        assert_eq!(g.person(&a, &pid("p1")).await.unwrap().face_ids.len(), 3);
        assert_eq!(rows(db).await, (2, 0));

        // A face write that fails writes no thumbnail either (one transaction).
        assert!(matches!(
            g.create_faces(&a, &pid("p1"), &[thumbed(0.06, 6), thumbed(0.07, 7), thumbed(0.08, 8)]).await,
            Err(GalleryError::PersonFaceLimit { .. })
        ));
        assert_eq!(rows(db).await, (2, 0));
    });
}

#[tokio::test]
async fn every_deletion_of_a_face_deletes_its_thumbnail() {
    on_both!(db => {
        let g = db.gallery().await;
        let a = acct("acct-a");
        for id in ["g1", "g2", "g3"] {
            g.create_group(&a, &new_group(id, id, &[])).await.unwrap();
        }
        // Another account's faces with the same person and group ids stay throughout.
        let b = acct("acct-b");
        g.create_group(&b, &new_group("g1", "g1", &[])).await.unwrap();
        let other = created(&g, &b, &person_with("g1", "p1", 0.5, 50)).await;

        // DeleteFace.
        let kept = created(&g, &a, &person_with("g1", "p1", 0.01, 1)).await;
        let gone = g.create_faces(&a, &pid("p1"), &[thumbed(0.02, 2)]).await.unwrap();
        assert_eq!(rows(db).await, (3, 0));
        assert_eq!(g.delete_faces(&a, &pid("p1"), &gone).await.unwrap(), gone);
        assert_eq!(g.thumbnail(&a, &gone[0]).await.unwrap(), None);
        assert_eq!(g.thumbnail(&a, &kept).await.unwrap(), Some(jpeg(1)));
        assert_eq!(rows(db).await, (2, 0));

        // DeletePerson, with all its faces.
        let f2 = created(&g, &a, &person_with("g1", "p2", 0.03, 3)).await;
        let more = g.create_faces(&a, &pid("p2"), &[thumbed(0.04, 4)]).await.unwrap();
        assert_eq!(rows(db).await, (4, 0));
        g.delete_person(&a, &pid("p2")).await.unwrap();
        assert_eq!(g.thumbnail(&a, &f2).await.unwrap(), None);
        assert_eq!(g.thumbnail(&a, &more[0]).await.unwrap(), None);
        assert_eq!(rows(db).await, (2, 0));

        // DeletePersonFromGroup: kept while the person is in another group, deleted with
        // the person when it leaves its last one.
        let f3 = created(&g, &a, &person_with("g1", "p3", 0.05, 5)).await;
        g.copy_person(&a, &pid("p3"), &[gid("g2")]).await.unwrap();
        g.delete_person_from_group(&a, &gid("g1"), &pid("p3")).await.unwrap();
        assert_eq!(g.thumbnail(&a, &f3).await.unwrap(), Some(jpeg(5)));
        g.delete_person_from_group(&a, &gid("g2"), &pid("p3")).await.unwrap();
        assert_eq!(g.thumbnail(&a, &f3).await.unwrap(), None);
        assert_eq!(rows(db).await, (2, 0));

        // DeleteGroup: its persons in no other group go, faces and thumbnails; a person
        // also in another group keeps them.
        let only = created(&g, &a, &person_with("g3", "p4", 0.06, 6)).await;
        let only2 = g.create_faces(&a, &pid("p4"), &[thumbed(0.07, 7)]).await.unwrap();
        let shared = created(&g, &a, &person_with("g3", "p5", 0.08, 8)).await;
        g.copy_person(&a, &pid("p5"), &[gid("g2")]).await.unwrap();
        assert_eq!(rows(db).await, (5, 0));
        g.delete_group(&a, &gid("g3")).await.unwrap();
        assert_eq!(g.thumbnail(&a, &only).await.unwrap(), None);
        assert_eq!(g.thumbnail(&a, &only2[0]).await.unwrap(), None);
        assert_eq!(g.thumbnail(&a, &shared).await.unwrap(), Some(jpeg(8)));
        assert_eq!(rows(db).await, (3, 0));

        assert_eq!(g.thumbnail(&b, &other).await.unwrap(), Some(jpeg(50)));
        assert_eq!(g.thumbnail(&a, &kept).await.unwrap(), Some(jpeg(1)));
    });
}

#[tokio::test]
async fn the_setting_turns_storing_off_on_every_node() {
    on_both!(db => {
        // Two nodes: two galleries, each on its own pool, on one database.
        let one = db.gallery().await;
        let two = db.gallery().await;
        let a = acct("acct-a");
        assert!(one.stores_thumbnails().await.unwrap(), "on by default");
        one.create_group(&a, &new_group("g1", "g1", &[])).await.unwrap();
        let before = created(&one, &a, &person_with("g1", "p1", 0.01, 1)).await;

        two.set_store_thumbnails(false).await.unwrap();
        assert!(!one.stores_thumbnails().await.unwrap());
        assert!(!two.stores_thumbnails().await.unwrap());
        // Node one stores none from now on, in CreatePerson or CreateFace...
        let off = created(&one, &a, &person_with("g1", "p2", 0.02, 2)).await;
        let off2 = one.create_faces(&a, &pid("p1"), &[thumbed(0.03, 3)]).await.unwrap();
        assert_eq!(one.thumbnail(&a, &off).await.unwrap(), None);
        assert_eq!(one.thumbnail(&a, &off2[0]).await.unwrap(), None);
        // ...and keeps those stored before until their faces go.
        assert_eq!(one.thumbnail(&a, &before).await.unwrap(), Some(jpeg(1)));
        assert_eq!(rows(db).await, (1, 0));
        // Setting it twice is fine.
        two.set_store_thumbnails(false).await.unwrap();

        one.set_store_thumbnails(true).await.unwrap();
        assert!(two.stores_thumbnails().await.unwrap());
        let on = two.create_faces(&a, &pid("p2"), &[thumbed(0.04, 4)]).await.unwrap();
        assert_eq!(one.thumbnail(&a, &on[0]).await.unwrap(), Some(jpeg(4)));
        assert_eq!(rows(db).await, (2, 0));
    });
}
