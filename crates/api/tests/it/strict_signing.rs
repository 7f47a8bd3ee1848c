//! `serve --strict-signing`: a TC3 request must sign X-TC-Action and its body, so a
//! captured request cannot be re-sent as another action.

use serde_json::json;

use crate::common::{self, code, Tamper};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strict_signing_refuses_what_the_sdks_leave_unsigned() {
    let db = common::sqlite().await;
    let config = api::ServerConfig {
        strict_signing: true,
        ..common::config()
    };
    let s = common::start(&db, config).await;
    let strict = Tamper {
        sign_action: true,
        ..Default::default()
    };
    // As the official SDKs sign (content-type and host only): refused.
    let r = s.call("GetGroupList", json!({})).await;
    assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");
    assert!(
        r["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("x-tc-action"),
        "{r}"
    );
    // Signing the action too: served.
    let r = s
        .call_with(
            "CreateGroup",
            json!({"GroupId": "g", "GroupName": "g"}),
            &strict,
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    // A captured GetGroupList re-sent as DeleteGroup: the signature no longer matches.
    let mut captured = s.sign(
        "GetGroupInfo",
        &json!({"GroupId": "g"}).to_string(),
        &strict,
    );
    for (k, v) in &mut captured.headers {
        if k == "X-TC-Action" {
            *v = "DeleteGroup".into();
        }
    }
    let r = s.send(&captured).await;
    assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");
    let r = s
        .call_with("GetGroupInfo", json!({"GroupId": "g"}), &strict)
        .await;
    assert_eq!(code(&r), "", "the group must still exist: {r}");
    // An unsigned body is refused even with the action signed.
    let mut unsigned = s.sign("GetGroupList", "{}", &strict);
    unsigned
        .headers
        .push(("X-TC-Content-SHA256".into(), "UNSIGNED-PAYLOAD".into()));
    let r = s.send(&unsigned).await;
    assert_eq!(code(&r), "AuthFailure.SignatureFailure", "{r}");
    assert!(
        r["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("UNSIGNED-PAYLOAD"),
        "{r}"
    );
    s.stop().await;
}
