//! Signing variants the official SDKs use besides TC3 over a JSON POST.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{self, code};

/// A TC3-signed GET as the SDKs send it (`HttpProfile(req_method="GET")`): the action's
/// fields flattened into the signed query, content-type form-urlencoded, empty payload.
async fn tc3_get(s: &common::Server, action: &str, query: &str) -> Value {
    tc3_get_tampered(s, action, query, query).await
}

/// [`tc3_get`] signing `query` but sending `sent`.
async fn tc3_get_tampered(s: &common::Server, action: &str, query: &str, sent: &str) -> Value {
    let host = s.addr.to_string();
    let ts = chrono::Utc::now().timestamp();
    let date = chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let content_type = "application/x-www-form-urlencoded";
    let canonical = format!(
        "GET\n/\n{query}\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n{:x}",
        Sha256::digest(b"")
    );
    let signature =
        api::auth::tc3_signature(&s.secret_key, &date, "iai", &ts.to_string(), &canonical);
    let authorization = format!(
        "TC3-HMAC-SHA256 Credential={}/{date}/iai/tc3_request, SignedHeaders=content-type;host, Signature={signature}",
        s.secret_id
    );
    let v: Value = s
        .http
        .get(format!("http://{host}/?{sent}"))
        .header("Content-Type", content_type)
        .header("X-TC-Action", action)
        .header("X-TC-Version", "2020-03-03")
        .header("X-TC-Timestamp", ts.to_string())
        .header("X-TC-Region", "ap-guangzhou")
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["Response"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tc3_over_get_is_served() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let r = tc3_get(&s, "CreateGroup", "GroupId=g1&GroupName=front%20desk").await;
    assert_eq!(code(&r), "", "{r}");
    let r = tc3_get(&s, "GetGroupList", "Offset=0&Limit=10").await;
    assert_eq!(code(&r), "", "{r}");
    assert_eq!(r["GroupInfos"][0]["GroupName"], "front desk", "{r}");
    let r = tc3_get(&s, "GetGroupInfo", "GroupId=g1").await;
    assert_eq!(r["GroupName"], "front desk", "{r}");
    // The query is signed: a query other than the one signed is refused.
    let r = tc3_get_tampered(&s, "DeleteGroup", "GroupId=g2", "GroupId=g1").await;
    assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");
    let r = s.call("GetGroupInfo", json!({ "GroupId": "g1" })).await;
    assert_eq!(code(&r), "", "the group must still exist: {r}");
    s.stop().await;
}

/// The Node.js, Java and PHP SDKs sign for the endpoint's first label ("127" for
/// 127.0.0.1:PORT, "localhost:PORT"): verified as signed, the action decides the
/// service. A scope naming one of our services still limits the request to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_signed_service_name_is_verified_as_signed() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    for service in ["127", "localhost:8600"] {
        let t = common::Tamper {
            service: Some(service.into()),
            ..Default::default()
        };
        let r = s.call_with("GetGroupList", json!({}), &t).await;
        assert_eq!(code(&r), "", "{service}: {r}");
        // Still a signature: a wrong key is refused.
        let wrong = common::Tamper {
            service: Some(service.into()),
            secret_key: Some("x".repeat(32)),
            ..Default::default()
        };
        let r = s.call_with("GetGroupList", json!({}), &wrong).await;
        assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{service}: {r}");
    }
    let billing = common::Tamper {
        service: Some("billing".into()),
        ..Default::default()
    };
    let r = s.call_with("GetGroupList", json!({}), &billing).await;
    assert_eq!(code(&r), "InvalidAction", "{r}");
    s.stop().await;
}
