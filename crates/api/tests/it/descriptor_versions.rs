//! Descriptor versions through the API: a group stored before version 2 (a row at
//! version 1) keeps searching with version 1's descriptors and scores, a new group stores
//! version 2 and scores with its model, the two never meet, UpgradeGroupFaceModelVersion
//! refuses a version-1 group, and CompareFace scores version 2 as the offline SDK does.
//! (The version is not in the answers: the official SDKs' response types do not declare
//! such a field, and sdk_node refuses undeclared ones. The stored rows and the scores
//! show it.)

use crate::common;

use common::{b64, code, small_photo};
use serde_json::{json, Value};
use vision::{Described, DescriptorVersion};

/// Both descriptors of a photo's largest face, as the server describes it.
fn described(photo: &[u8]) -> Described {
    let engine = common::engine();
    let img = engine.decode(photo).unwrap();
    let mut faces = engine.detect(&img).unwrap();
    faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
    engine
        .describe_versions(&img, &faces[..1])
        .unwrap()
        .remove(0)
}

/// A score as the API reports it (two decimals).
fn reported(score: f64) -> f64 {
    (score * 100.0).round() / 100.0
}

fn candidates(r: &Value) -> &Vec<Value> {
    r["Results"][0]["Candidates"].as_array().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_1_groups_keep_version_1_and_new_groups_get_version_2() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let (obama, obama2) = (small_photo("obama.jpg"), small_photo("obama2.jpg"));
    let engine = common::engine();
    let (a, b) = (described(&obama), described(&obama2));

    // A new group holds version 2.
    let r = s
        .call("CreateGroup", json!({"GroupName": "new", "GroupId": "new"}))
        .await;
    assert_eq!(code(&r), "", "{r}");
    // A group as every group created before version 2 reads: its row at version 1.
    let r = s
        .call("CreateGroup", json!({"GroupName": "old", "GroupId": "old"}))
        .await;
    assert_eq!(code(&r), "", "{r}");
    sqlx::query("UPDATE gallery_groups SET descriptor_version = 1 WHERE group_id = 'old'")
        .execute(&s.pool)
        .await
        .unwrap();
    let versions: Vec<(String, i64)> =
        sqlx::query_as("SELECT group_id, descriptor_version FROM gallery_groups ORDER BY group_id")
            .fetch_all(&s.pool)
            .await
            .unwrap();
    assert_eq!(versions, vec![("new".into(), 2), ("old".into(), 1)]);
    for (group, person) in [("new", "p-new"), ("old", "p-old")] {
        let r = s
            .call(
                "CreatePerson",
                json!({"GroupId": group, "PersonName": person, "PersonId": person, "Image": b64(&obama)}),
            )
            .await;
        assert_eq!(code(&r), "", "{r}");
    }
    // What was stored: each person's descriptor of its group's version.
    for (person, version, want) in [("p-new", 2, &a.v2), ("p-old", 1, &a.v1)] {
        let (stored, v): (Vec<u8>, i64) = sqlx::query_as(
            "SELECT descriptor, descriptor_version FROM gallery_faces WHERE person_id = $1",
        )
        .bind(person)
        .fetch_one(&s.pool)
        .await
        .unwrap();
        assert_eq!(v, version, "{person}");
        let values: Vec<f32> = stored
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(&values, &want.0, "{person}");
    }

    // Each group searches with its own version's descriptors and score model.
    for (group, version) in [
        ("old", DescriptorVersion::V1),
        ("new", DescriptorVersion::V2),
    ] {
        let r = s
            .call(
                "SearchFaces",
                json!({"GroupIds": [group], "Image": b64(&obama2)}),
            )
            .await;
        assert_eq!(code(&r), "", "{r}");
        let want = engine
            .compare_as(b.of(version), a.of(version), version)
            .unwrap()
            .score;
        assert_eq!(
            candidates(&r)[0]["Score"],
            json!(reported(want)),
            "{group}: {r}"
        );
        // FaceMatchThreshold: a bound just above the pair's score leaves it out, just
        // below keeps it.
        for (threshold, found) in [(want + 0.05, 0), (want - 0.05, 1)] {
            let r = s
                .call(
                    "SearchPersons",
                    json!({"GroupIds": [group], "Image": b64(&obama2), "FaceMatchThreshold": threshold}),
                )
                .await;
            assert_eq!(code(&r), "", "{r}");
            assert_eq!(candidates(&r).len(), found, "{group} at {threshold}: {r}");
        }
    }
    // The two versions never meet: not in one search, not by a person joining a group
    // of the other version.
    let r = s
        .call(
            "SearchFaces",
            json!({"GroupIds": ["old", "new"], "Image": b64(&obama2)}),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.AcrossVersionsError", "{r}");
    let r = s
        .call(
            "CopyPerson",
            json!({"PersonId": "p-old", "GroupIds": ["new"]}),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.AcrossVersionsError", "{r}");
    let message = r["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains("version-1") && message.contains("version-2"),
        "{message}"
    );
    // A person of version 1 still takes new faces: of version 1.
    let r = s
        .call(
            "CreateFace",
            json!({"PersonId": "p-old", "Images": [b64(&obama2)], "FaceMatchThreshold": 0}),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    assert_eq!(r["SucFaceNum"], 1, "{r}");
    let versions: Vec<i64> = sqlx::query_scalar(
        "SELECT descriptor_version FROM gallery_faces WHERE person_id = 'p-old'",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(versions, vec![1, 1]);

    // No crops are stored: a version-1 group cannot be described again.
    let r = s
        .call(
            "UpgradeGroupFaceModelVersion",
            json!({"GroupId": "old", "FaceModelVersion": "3.0"}),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.GroupCannotUpgrade", "{r}");
    let message = r["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains("version-1") && message.contains("new group"),
        "{message}"
    );
    s.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_face_scores_version_2_as_the_sdk() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let engine = common::engine();
    for (x, y) in [("obama.jpg", "obama2.jpg"), ("obama.jpg", "biden.jpg")] {
        let (px, py) = (small_photo(x), small_photo(y));
        let r = s
            .call(
                "CompareFace",
                json!({"ImageA": b64(&px), "ImageB": b64(&py)}),
            )
            .await;
        assert_eq!(code(&r), "", "{r}");
        // The SDK's compare is `compare_as(.., LATEST)` on `describe_as(.., LATEST)`
        // descriptors (crates/sdk/tests/it/parity.rs holds it to that).
        let v = DescriptorVersion::LATEST;
        let (a, b) = (described(&px), described(&py));
        let want = engine.compare_as(a.of(v), b.of(v), v).unwrap().score;
        assert_eq!(r["Score"], json!(reported(want)), "{x} {y}: {r}");
    }
    s.stop().await;
    db.drop_db().await;
}
