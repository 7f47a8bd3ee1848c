//! The console's face pages on a live `renlian serve`: a person group created on the
//! page, filled from a zip and from one photo (billed like the API's CreatePerson and
//! CreateFace), thumbnails kept to their account, hostile zips refused with nothing
//! enrolled, "try it" detection and search billed like API calls, a person moved and
//! deleted, a group deleted, and the operator's thumbnail switch (audited).

use std::io::{Cursor, Write};
use std::time::Instant;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, ORIGIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use crate::billing_support::{Backend, Env};
use crate::console_support::{account, between, signed_in, unescape, Page, Visitor};
use crate::face_support;
use crate::serve_support::{Client, Serve};

/// A fixture photo 320 px wide as JPEG (detection at full size takes seconds a photo).
fn photo(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(face_support::fixtures().join(name)).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    let small = img.resize(320, 10_000, image::imageops::FilterType::Triangle);
    let mut out = Cursor::new(Vec::new());
    small
        .to_rgb8()
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// A zip of (name, data), deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// One part of a multipart form: a field, or a file with its name.
struct Part<'a> {
    name: &'a str,
    file_name: Option<&'a str>,
    data: &'a [u8],
}

fn field<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name,
        file_name: None,
        data: value.as_bytes(),
    }
}

fn file<'a>(name: &'a str, file_name: &'a str, data: &'a [u8]) -> Part<'a> {
    Part {
        name,
        file_name: Some(file_name),
        data,
    }
}

const BOUNDARY: &str = "renlian-test-3f9a0c1d";

/// A `multipart/form-data` body as a browser sends it.
fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"",
            p.name
        )
        .unwrap();
        match p.file_name {
            Some(f) => write!(
                body,
                "; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .unwrap(),
            None => body.extend_from_slice(b"\r\n\r\n"),
        }
        body.extend_from_slice(p.data);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{BOUNDARY}--\r\n").unwrap();
    body
}

/// Posts a multipart form as the page at `from` would: its CSRF token in the query (the
/// guard does not parse multipart bodies), our Origin, the session cookie.
async fn upload(v: &mut Visitor, from: &str, path: &str, parts: &[Part<'_>]) -> Page {
    let csrf = v.page(from).await.csrf();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(v.url(&format!("{path}?_csrf={csrf}")))
        .header(
            COOKIE,
            format!("renlian_session={}", v.cookie.clone().unwrap()),
        )
        .header(ORIGIN, format!("http://{}", v.addr))
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(parts))
        .send()
        .await
        .unwrap();
    Page {
        status: r.status(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

/// A GET that keeps the body as bytes (thumbnails).
async fn get_bytes(v: &Visitor, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(v.url(path))
        .header(
            COOKIE,
            format!("renlian_session={}", v.cookie.clone().unwrap()),
        )
        .send()
        .await
        .unwrap();
    (
        r.status(),
        r.headers().clone(),
        r.bytes().await.unwrap().to_vec(),
    )
}

/// The account's calls this month per billed item, from `renlian bill --json`.
fn billed_calls(e: &Env, account: i64, item: &str) -> u64 {
    // Accounts bill in Asia/Shanghai (UTC+8, no daylight saving) unless told otherwise.
    let month = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let bill = e.json(&["bill", "--account", &account.to_string(), "--month", &month]);
    bill["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == item)
        .map_or(0, |l| l["calls"].as_u64().unwrap())
}

fn persons_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["PersonInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PersonId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn faces_flow(backend: Backend) {
    let e = Env::new(backend).await;
    let acme = account(&e, "acme");
    let other = account(&e, "other");
    let key = e.json(&["key", "create", "--account", &acme.to_string()]);
    let server = Serve::start(&e, 0);
    let api = Client {
        http: reqwest::Client::new(),
        addr: server.addr,
        secret_id: key["SecretId"].as_str().unwrap().to_string(),
        secret_key: key["SecretKey"].as_str().unwrap().to_string(),
    };
    let mut ann = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let mut bob = signed_in(&e, server.addr, other, "bob@other.test", false).await;
    let mut ops = signed_in(&e, server.addr, acme, "ops@renlian.test", true).await;
    let groups = format!("/console/a/{acme}/groups");

    // Two groups from the page; the API's own refusal comes back as a message.
    for (id, name) in [("staff", "Staff"), ("visitors", "Visitors")] {
        let p = ann
            .post(&groups, &groups, &[("group_id", id), ("group_name", name)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(p.location(), format!("{groups}/{id}?done=created"));
    }
    let p = ann
        .post(
            &groups,
            &groups,
            &[("group_id", "bad id"), ("group_name", "x")],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(
        p.body.contains("InvalidParameterValue.GroupIdIllegal"),
        "{}",
        p.body
    );
    let list = ann.page(&groups).await;
    assert!(
        list.body.contains("data-group-id=\"staff\"")
            && list.body.contains("data-group-id=\"visitors\"")
    );

    // A zip of two persons' photos: every person, every face, every call billed.
    let (obama, obama2, obama_partial, biden, obama3) = (
        photo("obama.jpg"),
        photo("obama2.jpg"),
        photo("obama_partial_face.jpg"),
        photo("biden.jpg"),
        photo("obama3.jpg"),
    );
    let staff = format!("{groups}/staff");
    let z = zip_of(&[
        ("obama/obama.jpg", &obama),
        // CreateFace's default FaceMatchThreshold (60) wants the person's photos alike:
        // obama_partial_face.jpg scores 71 against obama.jpg, obama2.jpg only 45.
        ("obama/obama_partial_face.jpg", &obama_partial),
        ("biden/biden.jpg", &biden),
    ]);
    let started = Instant::now();
    let p = upload(
        &mut ann,
        &staff,
        &format!("{staff}/enrol"),
        &[file("file", "people.zip", &z)],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        p.location(),
        format!("{staff}?done=enrolled&persons=2&faces=3")
    );
    eprintln!("console_faces: a zip of 3 photos (2 persons) enrolled in {took:.2?}");
    let page = unescape(&ann.page(&staff).await.body);
    assert!(page.contains("data-person-id=\"obama\""), "{page}");
    assert!(page.contains("data-person-id=\"biden\""));
    assert!(
        page.contains("<form id=\"enrol\"") && page.contains("enctype=\"multipart/form-data\"")
    );
    let listed = api.ok("GetPersonList", json!({"GroupId": "staff"})).await;
    assert_eq!(persons_of(&listed), ["biden", "obama"]);
    assert_eq!(listed["FaceNum"], 3);
    assert_eq!(
        billed_calls(&e, acme, "person"),
        3,
        "CreatePerson ×2 + CreateFace ×1"
    );

    // Thumbnails: JPEG for the account's users, "not found" for anyone else.
    let face_ids: Vec<String> = listed["PersonInfos"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["FaceIds"].as_array().unwrap().clone())
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert_eq!(face_ids.len(), 3);
    for f in &face_ids {
        let path = format!("/console/a/{acme}/faces/{f}.jpg");
        assert!(
            page.contains(&format!("src=\"{path}\"")),
            "{path} not on the page"
        );
        let (status, headers, body) = get_bytes(&ann, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[CONTENT_TYPE], "image/jpeg");
        assert!(headers[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .starts_with("private"));
        assert!(body.starts_with(&[0xFF, 0xD8, 0xFF]), "{path}: not a JPEG");
        assert_eq!(get_bytes(&bob, &path).await.0, StatusCode::NOT_FOUND);
        let theirs = format!("/console/a/{other}/faces/{f}.jpg");
        assert_eq!(get_bytes(&bob, &theirs).await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(bob.get(&staff).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get_bytes(&ann, &format!("/console/a/{acme}/faces/1234.jpg"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Hostile zips are refused whole: nothing enrolled, nothing billed.
    let mut bomb = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bomb.resize(6 * 1024 * 1024, 0);
    for (z, says) in [
        (
            zip_of(&[("carl/ok.jpg", &obama3), ("../evil.jpg", &obama3)]),
            "leaves the archive",
        ),
        (
            zip_of(&[("carl/ok.jpg", &obama3), ("dave/big.jpg", &bomb)]),
            "decompressed",
        ),
        (zip_of(&[("carl/notes.txt", b"hello")]), "not a photo"),
    ] {
        let p = upload(
            &mut ann,
            &staff,
            &format!("{staff}/enrol"),
            &[file("file", "bad.zip", &z)],
        )
        .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
        assert!(
            p.body.contains("class=\"error\" role=\"alert\""),
            "{}",
            p.body
        );
        assert!(p.body.contains(says), "{says}: {}", p.body);
    }
    // Over 20 MiB (the upload limit), and over the routes' 25 MiB body limit.
    for size in [21 << 20, 26 << 20] {
        let mut big = b"PK\x03\x04".to_vec();
        big.resize(size, 0);
        let p = upload(
            &mut ann,
            &staff,
            &format!("{staff}/enrol"),
            &[file("file", "big.zip", &big)],
        )
        .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{size}");
        assert!(
            p.body.contains("class=\"error\" role=\"alert\""),
            "{}",
            p.body
        );
    }
    // The language switch on a refused form's page GETs the form's address: it leads
    // back to the group.
    let back = ann.get(&format!("{staff}/enrol?_csrf=x")).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(back.location(), staff);
    let listed = api.ok("GetPersonList", json!({"GroupId": "staff"})).await;
    assert_eq!(persons_of(&listed), ["biden", "obama"]);
    assert_eq!(billed_calls(&e, acme, "person"), 3);

    // One photo with the form's PersonId and name, into the other group.
    let visitors = format!("{groups}/visitors");
    let p = upload(
        &mut ann,
        &visitors,
        &format!("{visitors}/enrol"),
        &[
            file("file", "joe.jpg", &biden),
            field("person_id", "joe"),
            field("person_name", "Joe"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let joe = api
        .ok("GetPersonBaseInfo", json!({"PersonId": "joe"}))
        .await;
    assert_eq!(joe["PersonName"], "Joe");
    assert_eq!(billed_calls(&e, acme, "person"), 4);

    // Try it: detection draws the face on the photo and is billed as one detect call.
    let try_page = format!("/console/a/{acme}/try");
    let p = upload(
        &mut ann,
        &try_page,
        &try_page,
        &[
            field("action", "detect"),
            file("photo", "obama.jpg", &obama),
            file("photo2", "", b""),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("<section id=\"try-result\""), "{}", p.body);
    assert!(p.body.contains("<svg id=\"try-figure\""));
    assert!(p.body.contains("href=\"data:image/jpeg;base64,/9j/"));
    assert!(
        p.body.contains("<rect class=\"face-box\""),
        "no face box drawn"
    );
    let body = unescape(&p.body);
    let request = between(&body, "<pre id=\"try-request\" tabindex=\"0\">", "</pre>");
    assert!(request.contains("\"Image\": \"<base64, "), "{request}");
    assert!(request.contains("NeedFaceAttributes"), "{request}");
    let response = between(&body, "<pre id=\"try-response\" tabindex=\"0\">", "</pre>");
    assert!(
        response.contains("FaceInfos") && response.contains("RequestId"),
        "{response}"
    );
    assert_eq!(billed_calls(&e, acme, "detect"), 1);

    // Search by upload finds the enrolled person.
    let p = upload(
        &mut ann,
        &try_page,
        &try_page,
        &[
            field("action", "search"),
            field("group_id", "staff"),
            file("photo", "obama3.jpg", &obama3),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let body = unescape(&p.body);
    let response = between(&body, "<pre id=\"try-response\" tabindex=\"0\">", "</pre>");
    let first = response.find("\"PersonId\"").expect(response);
    assert!(
        response[first..].starts_with("\"PersonId\": \"obama\""),
        "{response}"
    );
    assert_eq!(billed_calls(&e, acme, "search"), 1);

    // The 90 points drawn; two photos compared; liveness: each billed as one call.
    let p = upload(
        &mut ann,
        &try_page,
        &try_page,
        &[
            field("action", "landmarks"),
            file("photo", "obama.jpg", &obama),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(p.body.matches("<circle class=\"face-point\"").count(), 90);
    let p = upload(
        &mut ann,
        &try_page,
        &try_page,
        &[
            field("action", "compare"),
            file("photo", "a.jpg", &obama),
            file("photo2", "b.jpg", &obama_partial),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let figure = between(&p.body, "<svg id=\"try-figure\"", "</svg>");
    assert_eq!(figure.matches("<image ").count(), 2, "{figure}");
    assert!(unescape(&p.body).contains("\"Score\": "), "{}", p.body);
    let p = upload(
        &mut ann,
        &try_page,
        &try_page,
        &[field("action", "compare"), file("photo", "a.jpg", &obama)],
    )
    .await;
    assert_eq!(
        p.status,
        StatusCode::BAD_REQUEST,
        "compare needs two photos"
    );
    let p = upload(
        &mut ann,
        &try_page,
        &try_page,
        &[
            field("action", "liveness"),
            file("photo", "obama.jpg", &obama),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(unescape(&p.body).contains("\"IsLiveness\": "), "{}", p.body);
    for item in ["landmarks", "compare", "liveness"] {
        assert_eq!(billed_calls(&e, acme, item), 1, "{item}");
    }

    // Move obama to the visitors; delete joe; delete the staff group.
    let p = ann
        .post(
            &staff,
            &format!("{staff}/persons/obama/move"),
            &[("to", "visitors")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let info = api
        .ok("GetPersonGroupInfo", json!({"PersonId": "obama"}))
        .await;
    assert_eq!(
        info["PersonGroupInfos"],
        json!([{"GroupId": "visitors", "PersonExDescriptions": []}])
    );
    assert!(ann
        .page(&visitors)
        .await
        .body
        .contains("data-person-id=\"obama\""));
    let joe_face = joe["FaceIds"][0].as_str().unwrap().to_string();
    let p = ann
        .post(&visitors, &format!("{visitors}/persons/joe/delete"), &[])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let gone = api
        .call("GetPersonBaseInfo", &json!({"PersonId": "joe"}))
        .await
        .unwrap();
    assert_eq!(
        gone["Error"]["Code"],
        "InvalidParameterValue.PersonIdNotExist"
    );
    let joe_thumb = format!("/console/a/{acme}/faces/{joe_face}.jpg");
    assert_eq!(get_bytes(&ann, &joe_thumb).await.0, StatusCode::NOT_FOUND);
    let p = ann.post(&staff, &format!("{staff}/delete"), &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let left = api.ok("GetGroupList", json!({})).await;
    assert_eq!(left["GroupNum"], 1);
    assert_eq!(ann.get(&staff).await.status, StatusCode::NOT_FOUND);
    // Moving and deleting are free.
    assert_eq!(billed_calls(&e, acme, "person"), 4);

    // The operator's switch: no thumbnails for faces enrolled while it is off; audited.
    let settings = "/console/operator/settings";
    assert_eq!(ann.get(settings).await.status, StatusCode::NOT_FOUND);
    let p = ops
        .post(
            settings,
            &format!("{settings}/thumbnails"),
            &[("store", "off")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(ops
        .page(settings)
        .await
        .body
        .contains("id=\"thumbnails-state\""));
    let p = upload(
        &mut ann,
        &visitors,
        &format!("{visitors}/enrol"),
        &[
            file("file", "kay.jpg", &obama2),
            field("person_id", "kay"),
            field("person_name", "Kay"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let kay = api
        .ok("GetPersonBaseInfo", json!({"PersonId": "kay"}))
        .await;
    let kay_face = kay["FaceIds"][0].as_str().unwrap().to_string();
    let page = ann.page(&visitors).await.body;
    assert!(
        page.contains(&format!("data-face-id=\"{kay_face}\"")),
        "{page}"
    );
    let kay_thumb = format!("/console/a/{acme}/faces/{kay_face}.jpg");
    assert_eq!(get_bytes(&ann, &kay_thumb).await.0, StatusCode::NOT_FOUND);
    let p = ops
        .post(
            settings,
            &format!("{settings}/thumbnails"),
            &[("store", "on")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    // An operator's write on a customer's account is audited too.
    let p = ops
        .post(
            &groups,
            &groups,
            &[("group_id", "ops-made"), ("group_name", "Ops")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let pool = e.pool().await;
    let by_ops: i64 = sqlx::query(
        "SELECT COUNT(*) FROM console_audit WHERE action = 'groups.create' AND email = 'ops@renlian.test'",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(by_ops, 1);
    let audited: Vec<String> = sqlx::query(
        "SELECT detail FROM console_audit WHERE action = 'settings.thumbnails' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get(0).unwrap())
    .collect();
    pool.close().await;
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert!(
        audited[0].ends_with("off") && audited[1].ends_with("on"),
        "{audited:?}"
    );

    server.kill();
    e.close().await;
}

#[tokio::test]
async fn console_faces_sqlite() {
    faces_flow(Backend::Sqlite).await;
}

#[tokio::test]
async fn console_faces_postgres() {
    faces_flow(Backend::Postgres).await;
}
