//! The server end to end over HTTP on loopback: protocol and authentication errors,
//! group/person/face actions, face actions on real photos, and metering, on SQLite and
//! on PostgreSQL.

use crate::common;

use api::ServerConfig;
use common::{b64, blank_png, code, small_photo, Tamper};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn protocol_and_authentication_errors() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;

        // A well-formed call succeeds.
        let r = s.call("GetGroupList", json!({})).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["GroupNum"], 0);

        // Signature over another body.
        let t = Tamper { signed_body: Some("{\"Limit\": 1}".into()), ..Default::default() };
        let r = s.call_with("GetGroupList", json!({}), &t).await;
        assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");

        // Wrong SecretKey.
        let t = Tamper { secret_key: Some("x".repeat(32)), ..Default::default() };
        assert_eq!(code(&s.call_with("GetGroupList", json!({}), &t).await), "AuthFailure.SignatureFailure");

        // Unknown SecretId.
        let t = Tamper { secret_id: Some("AKIDnotakey".into()), ..Default::default() };
        assert_eq!(code(&s.call_with("GetGroupList", json!({}), &t).await), "AuthFailure.SecretIdNotFound");

        // Beyond ±5 minutes, both ways; inside, accepted.
        let now = chrono::Utc::now().timestamp();
        for ts in [now - 301, now + 301] {
            let t = Tamper { timestamp: Some(ts), ..Default::default() };
            assert_eq!(code(&s.call_with("GetGroupList", json!({}), &t).await), "AuthFailure.SignatureExpire");
        }
        let t = Tamper { timestamp: Some(now - 250), ..Default::default() };
        assert_eq!(code(&s.call_with("GetGroupList", json!({}), &t).await), "");

        // The same signed TC3 request twice in its second: both legitimate (TC3 has no
        // nonce; the ±5 minute window is its replay protection).
        let signed = s.sign("GetGroupList", "{\"Offset\": 0}", &Tamper::default());
        assert_eq!(code(&s.send(&signed).await), "");
        assert_eq!(code(&s.send(&signed).await), "");

        // Version and action.
        let t = Tamper { version: Some("2019-01-01".into()), ..Default::default() };
        assert_eq!(code(&s.call_with("GetGroupList", json!({}), &t).await), "NoSuchVersion");
        let t = Tamper { version: Some("2018-03-01".into()), ..Default::default() };
        assert_eq!(code(&s.call_with("GetGroupList", json!({}), &t).await), "");
        assert_eq!(code(&s.call("NoSuchAction", json!({})).await), "InvalidAction");
        assert_eq!(code(&s.call("GetGroupInfo", json!({})).await), "MissingParameter");
        assert_eq!(code(&s.call("GetGroupInfo", json!({"GroupId": 7})).await), "InvalidParameter");

        // Models this server does not have are refused, not invented.
        assert_eq!(code(&s.call("CompareMaskFace", json!({"ImageA": "x", "ImageB": "x"})).await), "UnsupportedOperation");
        let r = s.call("DetectFaceSimilarity", json!({"ImageA": "x", "ImageB": "x"})).await;
        assert_eq!(code(&r), "UnsupportedOperation");

        // Oversized body: refused, and the answer reaches the client every time (the server
        // reads a slightly oversized body to its end rather than resetting a client that is
        // still sending; without that, 2-4 of 5 tries got a reset on a loaded machine).
        let big = json!({ "Image": "A".repeat(11 * 1024 * 1024) });
        for i in 0..5 {
            let r = s.try_call("DetectFace", &big).await;
            let r = r.unwrap_or_else(|| panic!("try {i}: no answer to an oversized body"));
            assert_eq!(code(&r), "RequestSizeLimitExceeded", "{r}");
        }

        // A disabled key is refused.
        s.keys.disable(&s.secret_id).await.unwrap();
        assert_eq!(code(&s.call("GetGroupList", json!({})).await), "AuthFailure.SecretIdNotFound");

        // Nothing of the above was billable.
        assert_eq!(s.metered("DetectFace").await, 0);
        s.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_per_key() {
    let db = common::sqlite().await;
    let s = common::start(
        &db,
        ServerConfig {
            rate_per_key: 3,
            ..Default::default()
        },
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(code(&s.call("GetGroupList", json!({})).await).to_string());
    }
    assert_eq!(&codes[..3], ["", "", ""]);
    assert_eq!(codes[3], "RequestLimitExceeded");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn groups_persons_and_faces() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let obama = b64(&small_photo("obama.jpg"));
        let obama2 = b64(&small_photo("obama2.jpg"));
        let biden = b64(&small_photo("biden.jpg"));

        let r = s.call("CreateGroup", json!({
            "GroupName": "staff", "GroupId": "g-1", "Tag": "t", "GroupExDescriptions": ["num"]
        })).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["FaceModelVersion"], "3.0");
        assert_eq!(code(&s.call("CreateGroup", json!({"GroupName": "x", "GroupId": "bad/id"})).await),
            "InvalidParameterValue.GroupIdIllegal");
        assert_eq!(code(&s.call("CreateGroup", json!({"GroupName": "y", "GroupId": "g".repeat(65)})).await),
            "InvalidParameterValue.GroupIdTooLong");
        assert_eq!(code(&s.call("CreateGroup", json!({"GroupName": "staff", "GroupId": "g-2"})).await),
            "InvalidParameterValue.GroupNameAlreadyExist");

        let r = s.call("GetGroupInfo", json!({"GroupId": "g-1"})).await;
        assert_eq!(r["GroupName"], "staff");
        assert_eq!(r["GroupExDescriptions"], json!(["num"]));
        assert_eq!(r["Tag"], "t");
        assert!(r["CreationTimestamp"].as_i64().unwrap() > 1_600_000_000_000);

        let r = s.call("CreatePerson", json!({
            "GroupId": "g-1", "PersonName": "Obama", "PersonId": "p-1", "Gender": 1,
            "PersonExDescriptionInfos": [{"PersonExDescriptionIndex": 0, "PersonExDescription": "44"}],
            "Image": obama
        })).await;
        assert_eq!(code(&r), "", "{r}");
        let face_id = r["FaceId"].as_str().unwrap().to_string();
        assert!(!face_id.is_empty());
        assert!(r["FaceRect"]["Width"].as_i64().unwrap() > 50);

        // A person without a face in the image is refused, and billed (billing.md).
        let r = s.call("CreatePerson", json!({
            "GroupId": "g-1", "PersonName": "Nobody", "PersonId": "p-2", "Image": b64(&blank_png())
        })).await;
        assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto");
        assert_eq!(code(&s.call("GetPersonBaseInfo", json!({"PersonId": "p-2"})).await),
            "InvalidParameterValue.PersonIdNotExist");

        // Same person: accepted; another person: below the threshold (RetCode -1604). The
        // default threshold, 60 (FAR 1e-5), is beyond what dlib's descriptor gives two photos
        // of one man (docs/calibration/); 30 is FAR 1e-2.
        let r = s.call("CreateFace", json!({
            "PersonId": "p-1", "Images": [obama2, biden], "FaceMatchThreshold": 30
        })).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["SucFaceNum"], 1);
        assert_eq!(r["RetCode"], json!([0, -1604]));
        assert_eq!(r["SucIndexes"], json!([0]));
        let new_face = r["SucFaceIds"][0].as_str().unwrap().to_string();

        let r = s.call("GetPersonBaseInfo", json!({"PersonId": "p-1"})).await;
        assert_eq!(r["PersonName"], "Obama");
        assert_eq!(r["Gender"], 1);
        assert_eq!(r["FaceIds"].as_array().unwrap().len(), 2);

        let r = s.call("GetPersonList", json!({"GroupId": "g-1"})).await;
        assert_eq!(r["PersonNum"], 1);
        assert_eq!(r["FaceNum"], 2);
        assert_eq!(r["PersonInfos"][0]["PersonExDescriptions"], json!(["44"]));
        let r = s.call("GetPersonListNum", json!({"GroupId": "g-1"})).await;
        assert_eq!((r["PersonNum"].as_i64(), r["FaceNum"].as_i64()), (Some(1), Some(2)));

        let r = s.call("DeleteFace", json!({"PersonId": "p-1", "FaceIds": [new_face]})).await;
        assert_eq!(r["SucDeletedNum"], 1);
        assert_eq!(code(&s.call("DeleteFace", json!({"PersonId": "p-1", "FaceIds": [face_id]})).await),
            "InvalidParameterValue.DeleteFaceNumExceed");

        let r = s.call("ModifyGroup", json!({"GroupId": "g-1", "GroupName": "team",
            "GroupExDescriptionInfos": [{"GroupExDescriptionIndex": 1, "GroupExDescription": "num"}]})).await;
        assert_eq!(code(&r), "FailedOperation.DuplicatedGroupDescription");
        assert_eq!(code(&s.call("ModifyGroup", json!({"GroupId": "g-1", "GroupName": "team"})).await), "");
        let r = s.call("GetGroupList", json!({"Limit": 5})).await;
        assert_eq!(r["GroupNum"], 1);
        assert_eq!(r["GroupInfos"][0]["GroupName"], "team");

        assert_eq!(code(&s.call("DeletePersonFromGroup", json!({"GroupId": "g-1", "PersonId": "p-1"})).await), "");
        assert_eq!(code(&s.call("DeletePerson", json!({"PersonId": "p-1"})).await),
            "InvalidParameterValue.PersonIdNotExist");
        assert_eq!(code(&s.call("DeleteGroup", json!({"GroupId": "g-1"})).await), "");
        assert_eq!(code(&s.call("GetGroupInfo", json!({"GroupId": "g-1"})).await),
            "InvalidParameterValue.GroupIdNotExist");

        // Metering: CreatePerson ×2 (one NoFaceInPhoto), CreateFace ×1; group actions are free.
        assert_eq!(s.metered("CreatePerson").await, 2);
        assert_eq!(s.metered("CreateFace").await, 1);
        assert_eq!(s.metered("CreateGroup").await, 0);
        s.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn detect_and_compare_on_photos() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let obama = small_photo("obama.jpg");
        let r = s.call("DetectFace", json!({"Image": b64(&obama)})).await;
        assert_eq!(code(&r), "", "{r}");
        let engine = common::engine();
        let img = engine.decode(&obama).unwrap();
        assert_eq!(r["ImageWidth"], img.width());
        assert_eq!(r["ImageHeight"], img.height());
        let faces = engine.detect(&img).unwrap();
        assert_eq!(r["FaceInfos"].as_array().unwrap().len(), 1);
        assert_eq!(r["FaceInfos"][0]["X"], faces[0].x());
        assert_eq!(r["FaceInfos"][0]["Width"], faces[0].width());

        let r = s.call("DetectFace", json!({"Image": b64(&blank_png())})).await;
        assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto");
        let r = s.call("DetectFace", json!({"Image": b64(b"not an image at all")})).await;
        assert_eq!(code(&r), "FailedOperation.ImageDecodeFailed");
        let r = s.call("DetectFace", json!({"Image": "%%%"})).await;
        assert_eq!(code(&r), "FailedOperation.ImageDecodeFailed");
        let r = s.call("DetectFace", json!({})).await;
        assert_eq!(code(&r), "InvalidParameterValue.ImageEmpty");
        let r = s.call("DetectFace", json!({"Url": "http://127.0.0.1:1/x.jpg"})).await;
        assert_eq!(code(&r), "InvalidParameterValue.UrlIllegal");
        let r = s.call("DetectFace", json!({"Image": b64(&obama), "MaxFaceNum": 121})).await;
        assert_eq!(code(&r), "InvalidParameterValue");

        let same = s.call("CompareFace", json!({
            "ImageA": b64(&obama), "ImageB": b64(&small_photo("obama2.jpg"))
        })).await;
        assert_eq!(code(&same), "", "{same}");
        let other = s.call("CompareFace", json!({
            "ImageA": b64(&obama), "ImageB": b64(&small_photo("biden.jpg"))
        })).await;
        let (same, other) = (same["Score"].as_f64().unwrap(), other["Score"].as_f64().unwrap());
        // Calibrated scores: 40 = FAR 1e-3, 20 = FAR 1e-1 (docs/calibration/).
        assert!(same >= 40.0 && other < 20.0, "same {same}, other {other}");

        // MinFaceSize per request: the same photo scaled so its face is about 50 px is
        // beyond the server's default minimum (80 px) and found when the request asks
        // for 34-px faces (MMOD on the image upsampled as dlib does).
        let scale = 50.0 / faces[0].width() as f64;
        let tiny = image::load_from_memory(&obama).unwrap();
        let tiny = tiny.resize(
            (f64::from(tiny.width()) * scale).round() as u32,
            10_000,
            image::imageops::FilterType::Triangle,
        );
        let mut png = std::io::Cursor::new(Vec::new());
        tiny.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let tiny = b64(&png.into_inner());
        let r = s.call("DetectFace", json!({"Image": tiny})).await;
        assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto", "{r}");
        let r = s.call("DetectFace", json!({"Image": tiny, "MinFaceSize": 34})).await;
        assert_eq!(code(&r), "", "{r}");
        let width = r["FaceInfos"][0]["Width"].as_i64().unwrap();
        assert!((40..=62).contains(&width), "{r}");
        let r = s.call("DetectFace", json!({"Image": tiny, "MinFaceSize": 40})).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");

        // Successful calls and NoFaceInPhoto are metered; decode and validation errors are not.
        assert_eq!(s.metered("DetectFace").await, 4);
        assert_eq!(s.metered("CompareFace").await, 2);
        s.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_in_arrears_are_refused() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    // A settled month of postpaid calls without money puts the account in arrears.
    let now = chrono::Utc::now();
    let old_at = now - chrono::Duration::days(70);
    let old = billing::Month::of(old_at, s.billing.config().default_time_zone);
    s.billing
        .import_usage(s.account, billing::Item::Compare, 3_510_000, old_at, "big")
        .await
        .unwrap();
    s.billing.settle_month(old, now).await.unwrap();
    let view = s.billing.account(s.account).await.unwrap();
    assert_eq!(view.state, billing::AccountState::Arrears, "{view:?}");
    // This month's free detection calls are used up, so the next one is postpaid-bound.
    s.billing
        .import_usage(s.account, billing::Item::Detect, 10_000, now, "free")
        .await
        .unwrap();
    let r = s
        .call(
            "DetectFace",
            json!({"Image": b64(&small_photo("obama.jpg"))}),
        )
        .await;
    assert_eq!(code(&r), "ResourceUnavailable.InArrears", "{r}");
    // Free actions still work.
    assert_eq!(code(&s.call("GetGroupList", json!({})).await), "");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_is_refused() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    // URLs to this machine, private networks, metadata services, or not http(s).
    for url in [
        "http://127.0.0.1:1/x.jpg",
        "http://localhost/x.jpg",
        "http://10.1.2.3/x.jpg",
        "http://192.168.0.1/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.jpg",
        "http://0.0.0.0/x.jpg",
        "file:///etc/passwd",
        "ftp://example.com/x.jpg",
    ] {
        let r = s.call("DetectFace", json!({ "Url": url })).await;
        assert_eq!(code(&r), "InvalidParameterValue.UrlIllegal", "{url}: {r}");
    }
    // Oversized and invalid images.
    // Base64 text just over 5 MiB (well under the body limit).
    let big = b64(&vec![0u8; 3_932_163]);
    let r = s.call("DetectFace", json!({ "Image": big })).await;
    assert_eq!(code(&r), "FailedOperation.ImageSizeExceed", "{r}");
    let r = s
        .call(
            "DetectFace",
            json!({ "Image": b64(&[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]) }),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.ImageDecodeFailed", "{r}");
    // Ids with forbidden characters, and too long.
    for id in ["a b", "a/b", "a.b", "<x>", "\u{4e2d}", "a;b"] {
        let r = s
            .call("CreateGroup", json!({ "GroupName": "g", "GroupId": id }))
            .await;
        assert_eq!(
            code(&r),
            "InvalidParameterValue.GroupIdIllegal",
            "{id}: {r}"
        );
        let r = s.call("GetPersonBaseInfo", json!({ "PersonId": id })).await;
        assert_eq!(
            code(&r),
            "InvalidParameterValue.PersonIdIllegal",
            "{id}: {r}"
        );
    }
    let r = s
        .call("GetPersonBaseInfo", json!({ "PersonId": "p".repeat(65) }))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.PersonIdTooLong");
    // Wrong JSON types.
    let r = s.call("GetGroupList", json!({ "Limit": "5" })).await;
    assert_eq!(code(&r), "InvalidParameter");
    assert_eq!(s.metered("DetectFace").await, 0);
    s.stop().await;
}

/// Twelve concurrent CreateFace calls of one face each on a person with one face: exactly
/// four succeed (five faces at most), the others are refused and not billed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_create_face_on_one_person() {
    on_both!(db => {
        let s = std::sync::Arc::new(common::start(db, common::config()).await);
        let obama = b64(&small_photo("obama.jpg"));
        let obama2 = b64(&small_photo("obama2.jpg"));
        let r = s.call("CreateGroup", json!({"GroupName": "g", "GroupId": "g"})).await;
        assert_eq!(code(&r), "", "{r}");
        let r = s.call("CreatePerson", json!({
            "GroupId": "g", "PersonId": "p", "PersonName": "Obama", "Image": obama
        })).await;
        assert_eq!(code(&r), "", "{r}");
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let s = s.clone();
            let image = obama2.clone();
            tasks.push(tokio::spawn(async move {
                s.call("CreateFace", json!({
                    "PersonId": "p", "Images": [image], "FaceMatchThreshold": 30
                })).await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match code(&r) {
                "" => ok += 1,
                "InvalidParameterValue.PersonFaceNumExceed" => {}
                other => panic!("unexpected {other}: {r}"),
            }
        }
        assert_eq!(ok, 4);
        let r = s.call("GetPersonBaseInfo", json!({"PersonId": "p"})).await;
        assert_eq!(r["FaceIds"].as_array().unwrap().len(), 5);
        assert_eq!(s.metered("CreateFace").await, 4);
        let s = std::sync::Arc::into_inner(s).unwrap();
        s.stop().await;
    });
}

/// Two nodes on one PostgreSQL: a person enrolled through one is found by a search
/// through the other at once (the gallery's freshness bound is zero).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgres() {
    let db = common::postgres().await;
    let a = common::start(&db, common::config()).await;
    let b = common::second_node(&db, &a, common::config()).await;
    let obama = b64(&small_photo("obama.jpg"));
    let biden = b64(&small_photo("biden.jpg"));
    assert_eq!(
        code(
            &a.call("CreateGroup", json!({"GroupName": "g", "GroupId": "g"}))
                .await
        ),
        ""
    );
    let r = a
        .call(
            "CreatePerson",
            json!({
                "GroupId": "g", "PersonId": "biden", "PersonName": "Biden", "Image": biden
            }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    // Node B searches first (its index loads), then A enrols another person.
    let r = b
        .call("SearchPersons", json!({"GroupIds": ["g"], "Image": obama}))
        .await;
    assert_eq!(code(&r), "", "{r}");
    assert_eq!(r["Results"][0]["Candidates"][0]["PersonId"], "biden");
    let r = a
        .call(
            "CreatePerson",
            json!({
                "GroupId": "g", "PersonId": "obama", "PersonName": "Obama", "Image": obama
            }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    let r = b
        .call(
            "SearchFaces",
            json!({"GroupIds": ["g"], "Image": b64(&small_photo("obama2.jpg"))}),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    let top = &r["Results"][0]["Candidates"][0];
    assert_eq!(top["PersonId"], "obama", "{r}");
    assert!(top["Score"].as_f64().unwrap() >= 40.0, "{r}");
    assert_eq!(r["FaceNum"], 2);
    // Metering from both nodes lands in the one database.
    assert_eq!(a.metered("CreatePerson").await, 2);
    assert_eq!(
        a.metered("SearchFaces").await + a.metered("SearchPersons").await,
        2
    );
    a.stop().await;
    b.stop().await;
    db.drop_db().await;
}

/// In arrears with no free or pack units left, CreatePerson and CreateFace are refused
/// before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrolment_in_arrears_writes_nothing() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let obama = b64(&small_photo("obama.jpg"));
    assert_eq!(
        code(
            &s.call("CreateGroup", json!({"GroupName": "g", "GroupId": "g"}))
                .await
        ),
        ""
    );
    let r = s
        .call(
            "CreatePerson",
            json!({
                "GroupId": "g", "PersonId": "p", "PersonName": "Obama", "Image": obama
            }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    let now = chrono::Utc::now();
    let old_at = now - chrono::Duration::days(70);
    let old = billing::Month::of(old_at, s.billing.config().default_time_zone);
    s.billing
        .import_usage(s.account, billing::Item::Compare, 3_510_000, old_at, "big")
        .await
        .unwrap();
    s.billing.settle_month(old, now).await.unwrap();
    // The rest of this month's free enrolment calls are used up.
    s.billing
        .import_usage(s.account, billing::Item::Person, 9_999, now, "free")
        .await
        .unwrap();
    let r = s
        .call(
            "CreatePerson",
            json!({
                "GroupId": "g", "PersonId": "q", "PersonName": "Again", "Image": obama
            }),
        )
        .await;
    assert_eq!(code(&r), "ResourceUnavailable.InArrears", "{r}");
    assert_eq!(
        code(&s.call("GetPersonBaseInfo", json!({"PersonId": "q"})).await),
        "InvalidParameterValue.PersonIdNotExist"
    );
    let r = s
        .call(
            "CreateFace",
            json!({"PersonId": "p", "Images": [b64(&small_photo("obama2.jpg"))]}),
        )
        .await;
    assert_eq!(code(&r), "ResourceUnavailable.InArrears", "{r}");
    let r = s.call("GetPersonBaseInfo", json!({"PersonId": "p"})).await;
    assert_eq!(r["FaceIds"].as_array().unwrap().len(), 1);
    assert_eq!(s.metered("CreatePerson").await, 1);
    assert_eq!(s.metered("CreateFace").await, 0);
    s.stop().await;
}

/// Makes every insert into `table` fail (a storage fault in the gallery write, which comes
/// after metering), or lifts the fault.
async fn gallery_fault(s: &common::Server, table: &str, on: bool) {
    let postgres = s
        .pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("postgres");
    let trigger = format!("fault_{table}");
    let statements: Vec<String> = match (postgres, on) {
        (false, true) => vec![format!(
            "CREATE TRIGGER {trigger} BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        )],
        (false, false) => vec![format!("DROP TRIGGER {trigger}")],
        (true, true) => vec![
            "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger AS \
             'BEGIN RAISE EXCEPTION ''injected fault''; END' LANGUAGE plpgsql"
                .to_string(),
            format!(
                "CREATE TRIGGER {trigger} BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION injected_fault()"
            ),
        ],
        (true, false) => vec![format!("DROP TRIGGER {trigger} ON {table}")],
    };
    for q in statements {
        sqlx::query(&q).execute(&s.pool).await.unwrap();
    }
}

/// CreatePerson and CreateFace meter before they write: when the write fails (a person id
/// already taken, or a storage fault injected into the gallery's tables) the metering is
/// voided by a compensating entry, so the failed call is not billed and the free unit is
/// given back; once the fault is lifted the retried call is billed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrolment_write_failure_is_not_billed() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let obama = b64(&small_photo("obama.jpg"));
        let obama2 = b64(&small_photo("obama2.jpg"));
        let r = s.call("CreateGroup", json!({"GroupName": "g", "GroupId": "g"})).await;
        assert_eq!(code(&r), "", "{r}");
        let person = |id: &str| json!({
            "GroupId": "g", "PersonId": id, "PersonName": "Obama", "Image": obama
        });
        let r = s.call("CreatePerson", person("p")).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(s.metered("CreatePerson").await, 1);

        // The write fails on the taken id: metered, then voided.
        let r = s.call("CreatePerson", person("p")).await;
        assert_eq!(code(&r), "InvalidParameterValue.PersonIdAlreadyExist", "{r}");
        assert_eq!(s.metered("CreatePerson").await, 1);

        // A storage fault in the gallery write, after metering.
        gallery_fault(&s, "gallery_persons", true).await;
        let r = s.call("CreatePerson", person("q")).await;
        assert_ne!(code(&r), "", "{r}");
        gallery_fault(&s, "gallery_persons", false).await;
        let r = s.call("GetPersonBaseInfo", json!({"PersonId": "q"})).await;
        assert_eq!(code(&r), "InvalidParameterValue.PersonIdNotExist", "{r}");
        assert_eq!(s.metered("CreatePerson").await, 1);
        let r = s.call("CreatePerson", person("q")).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(s.metered("CreatePerson").await, 2);

        gallery_fault(&s, "gallery_faces", true).await;
        let r = s.call("CreateFace", json!({"PersonId": "p", "Images": [obama2], "FaceMatchThreshold": 30})).await;
        assert_ne!(code(&r), "", "{r}");
        gallery_fault(&s, "gallery_faces", false).await;
        let r = s.call("GetPersonBaseInfo", json!({"PersonId": "p"})).await;
        assert_eq!(r["FaceIds"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(s.metered("CreateFace").await, 0);
        let r = s.call("CreateFace", json!({"PersonId": "p", "Images": [obama2], "FaceMatchThreshold": 30})).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(s.metered("CreateFace").await, 1);

        // Three billed enrolment calls, all from the free pack; the three voided calls
        // left one compensating row each beside their original.
        let bill = s
            .billing
            .bill(
                s.account,
                billing::Month::of(chrono::Utc::now(), s.billing.config().default_time_zone),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let line = bill.lines.iter().find(|l| l.item == billing::Item::Person).unwrap();
        assert_eq!((line.calls, line.free, line.postpaid), (3, 3, 0));
        use sqlx::Row;
        let voids: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM billing_usage WHERE account_id = $1 AND units < 0",
        )
        .bind(s.account)
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
        assert_eq!(voids, 3);

        // The process dies between metering and the write (the injected stop: nothing
        // after the metering runs). Until the reconciliation settles them, these pending
        // enrolments count as used.
        s.state.faults.stop_after_enrolment_metering.store(true, std::sync::atomic::Ordering::Relaxed);
        let r = s.call("CreatePerson", person("r")).await;
        assert_eq!(code(&r), "InternalError", "{r}");
        let r2 = s.call("CreateFace", json!({"PersonId": "q", "Images": [obama2], "FaceMatchThreshold": 30})).await;
        assert_eq!(code(&r2), "InternalError", "{r2}");
        s.state.faults.stop_after_enrolment_metering.store(false, std::sync::atomic::Ordering::Relaxed);
        let q = s.call("GetPersonBaseInfo", json!({"PersonId": "q"})).await;
        assert_eq!(q["FaceIds"].as_array().unwrap().len(), 1, "{q}");
        // It dies after the write, before confirming: enrolled, still pending.
        s.state.faults.stop_after_enrolment_write.store(true, std::sync::atomic::Ordering::Relaxed);
        let w = s.call("CreatePerson", person("w")).await;
        assert_eq!(code(&w), "InternalError", "{w}");
        s.state.faults.stop_after_enrolment_write.store(false, std::sync::atomic::Ordering::Relaxed);
        let restarted = common::second_node(db, &s, common::config()).await;
        let p = restarted.call("GetPersonBaseInfo", json!({"PersonId": "r"})).await;
        assert_eq!(code(&p), "InvalidParameterValue.PersonIdNotExist", "{p}");
        let p = restarted.call("GetPersonBaseInfo", json!({"PersonId": "w"})).await;
        assert_eq!(code(&p), "", "{p}");
        assert_eq!(s.metered("CreatePerson").await, 4);
        assert_eq!(s.metered("CreateFace").await, 2);

        // Within the grace period nothing is settled.
        let now = chrono::Utc::now();
        let hour = std::time::Duration::from_secs(3600);
        let r0 = api::reconcile_enrolments(&s.billing, &s.state.gallery, hour, now).await.unwrap();
        assert_eq!(r0, api::ReconcileReport::default());
        let later = now + chrono::Duration::seconds(7200);
        // A storage fault in the gallery: nothing can be settled, all stays pending.
        gallery_fault(&s, "gallery_enrolments", true).await;
        let f = api::reconcile_enrolments(&s.billing, &s.state.gallery, hour, later).await.unwrap();
        assert_eq!((f.failed, f.confirmed, f.voided), (3, 0, 0), "{f:?}");
        gallery_fault(&s, "gallery_enrolments", false).await;
        assert_eq!(s.billing.pending_enrolments(later, 100).await.unwrap().len(), 3);
        assert_eq!(s.metered("CreatePerson").await, 4);
        // Past it, both nodes reconcile at once: the two enrolments never written are
        // voided, the written one confirmed, each once.
        let (a, b) = tokio::join!(
            api::reconcile_enrolments(&s.billing, &s.state.gallery, hour, later),
            api::reconcile_enrolments(&restarted.billing, &restarted.state.gallery, hour, later),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.voided + b.voided, a.confirmed + b.confirmed, a.charged + b.charged), (2, 1, 0), "{a:?} {b:?}");
        assert_eq!(s.metered("CreatePerson").await, 3);
        assert_eq!(s.metered("CreateFace").await, 1);
        let again = api::reconcile_enrolments(&s.billing, &s.state.gallery, hour, later).await.unwrap();
        assert_eq!(again, api::ReconcileReport::default());
        // The abandoned RequestIds can no longer enrol (a call that outlived the grace).
        let late = s
            .state
            .gallery
            .create_person_for(
                &gallery::AccountId::new(s.account.to_string()).unwrap(),
                &gallery::NewPerson {
                    group_id: gallery::GroupId::new("g").unwrap(),
                    person_id: gallery::PersonId::new("r").unwrap(),
                    name: "late".into(),
                    gender: gallery::Gender::Unset,
                    ex_descriptions: Vec::new(),
                    face: None,
                },
                r["RequestId"].as_str().unwrap(),
            )
            .await;
        assert!(matches!(late, Err(gallery::GalleryError::EnrolmentAbandoned(_))), "{late:?}");
        // Every enrolment of this test is settled: none pending.
        let pending = s.billing.pending_enrolments(later, 100).await.unwrap();
        assert!(pending.is_empty(), "{pending:?}");
        restarted.stop().await;
        s.stop().await;
    });
}

/// A person who opens the endpoint in a browser gets a page saying what it is, not an
/// API error; anything else without a signature is still refused as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browser_at_the_root_gets_a_page_not_an_error() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let r = s
        .http
        .get(format!("http://{}/", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("IAI API 3.0") && page.contains("docs/api.md"),
        "{page}"
    );
    // An unsigned signature-v1 query, and a POST without a signature, are API errors.
    let r: serde_json::Value = s
        .http
        .get(format!("http://{}/?Action=GetGroupList", s.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        code(&r["Response"]),
        "AuthFailure.MissingAuthorization",
        "{r}"
    );
    let r: serde_json::Value = s
        .http
        .post(format!("http://{}/", s.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        code(&r["Response"]),
        "AuthFailure.MissingAuthorization",
        "{r}"
    );
    s.stop().await;
    db.drop_db().await;
}

/// The key's `last_used_us` as listed.
async fn last_used(s: &common::Server) -> Option<i64> {
    let keys = s.keys.list(Some(s.account)).await.unwrap();
    keys.iter()
        .find(|k| k.secret_id == s.secret_id)
        .unwrap()
        .last_used_us
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_records_when_its_key_was_last_used() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        assert_eq!(last_used(&s).await, None);

        // A refused signature is not a use.
        let r = s.call_with("GetGroupList", json!({}), &Tamper { secret_key: Some("wrong".into()), ..Default::default() }).await;
        assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(last_used(&s).await, None);

        let before = chrono::Utc::now().timestamp_micros();
        assert_eq!(code(&s.call("GetGroupList", json!({})).await), "");
        let after = chrono::Utc::now().timestamp_micros();
        // Written off the request's path: it lands shortly after the answer.
        let mut first = None;
        for _ in 0..100 {
            first = last_used(&s).await;
            if first.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let first = first.expect("last use recorded");
        assert!(before <= first && first <= after, "{before} <= {first} <= {after}");

        // Within the minute, further calls write nothing more.
        for _ in 0..3 {
            assert_eq!(code(&s.call("GetGroupList", json!({})).await), "");
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(last_used(&s).await, Some(first));

        // The store's rule on its own: a use a minute later is recorded, an older one never.
        let later = first + api::keys::LAST_USED_EVERY_US + 1;
        assert!(s.keys.touch(&s.secret_id, later).await.unwrap());
        assert!(!s.keys.touch(&s.secret_id, later + 1).await.unwrap());
        assert!(!s.keys.touch(&s.secret_id, first).await.unwrap());
        assert_eq!(last_used(&s).await, Some(later));
        s.stop().await;
    });
}
