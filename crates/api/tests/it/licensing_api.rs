//! The `licensing` service over HTTP, on SQLite and PostgreSQL: SDK orders charged once
//! per ClientToken, activation (the same device twice → the same licence), another
//! account's order refused, trials (a fourth device refused), platform licences and
//! renewal, revocation and the signed list, the bill's SDK lines, and concurrent
//! activations from two nodes never exceeding an order's seats.

use crate::common;

use billing::Money;
use common::{code, Tamper};
use licensing::{
    ActivationRequest, Component, Context, DeviceState, Fingerprint, Sdk, Subject, Verifier,
    VerifyError,
};
use serde_json::{json, Value};

fn tamper(service: &str, version: &str, who: Option<&api::NewKey>) -> Tamper {
    let mut t = Tamper {
        service: Some(service.into()),
        version: Some(version.into()),
        ..Default::default()
    };
    if let Some(k) = who {
        t.secret_id = Some(k.secret_id.clone());
        t.secret_key = Some(k.secret_key.clone());
    }
    t
}

async fn lic(s: &common::Server, action: &str, params: Value) -> Value {
    s.call_with(action, params, &tamper("licensing", "2026-12-01", None))
        .await
}

fn device(name: &str) -> Fingerprint {
    Fingerprint {
        system: Some(Component::MachineId.hash(format!("{name}-os").as_bytes())),
        hardware: Some(Component::BoardSerial.hash(format!("{name}-hw").as_bytes())),
        device_key: Some(Component::DeviceKey.hash(format!("{name}-dk").as_bytes())),
    }
}

fn request(sdk: Sdk, name: &str) -> String {
    ActivationRequest::new(sdk, device(name), None)
        .unwrap()
        .to_text()
}

fn verify(
    keys: &Value,
    licence: &Value,
    list: Option<&Value>,
    subject: &Subject,
) -> Result<(), VerifyError> {
    let hex: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["PublicKey"].as_str().unwrap())
        .collect();
    let v = Verifier::from_hex(&hex).unwrap();
    let mut state = DeviceState::default();
    if let Some(list) = list {
        let l = v.open_revocation_list(list.as_str().unwrap())?;
        state.accept_revocation_list(&l)?;
    }
    v.verify(
        licence.as_str().unwrap(),
        &Context {
            now: chrono::Utc::now().timestamp() + 60,
            subject,
            features: &[],
            state: &state,
        },
    )
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn licensing_service_actions() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let now = chrono::Utc::now();
        s.billing.top_up(s.account, Money::yuan(1_000_000), now).await.unwrap();

        // Orders: 49 refused, 500 × detect = 144,000.00, a replay charges nothing.
        let r = lic(&s, "CreateSdkOrder", json!({"Sdk": "detect", "Devices": 49})).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        let order = json!({"Sdk": "detect", "Devices": 500, "ClientToken": "po-1"});
        let r = lic(&s, "CreateSdkOrder", order.clone()).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!((r["Total"].as_str(), r["Tier"].as_u64()), (Some("144000.00"), Some(1)));
        assert_eq!(r["Balance"], "856000.00");
        let order_id = r["OrderId"].as_i64().unwrap();
        let again = lic(&s, "CreateSdkOrder", order).await;
        assert_eq!((again["OrderId"].as_i64(), again["Replayed"].as_bool()), (Some(order_id), Some(true)));
        assert_eq!(again["Balance"], "856000.00");
        // A short balance: refused, nothing charged.
        let r = lic(&s, "CreateSdkOrder", json!({"Sdk": "search", "Devices": 4000})).await;
        assert_eq!(code(&r), "FailedOperation.InsufficientBalance", "{r}");
        // Signed for another service: not an action there.
        let r = s
            .call_with("CreateSdkOrder", json!({"Sdk": "detect", "Devices": 50}), &Tamper::billing())
            .await;
        assert_eq!(code(&r), "InvalidAction", "{r}");

        // Activation; the same device (one component changed) → the same licence.
        let rl = lic(&s, "DescribeSdkRevocationList", json!({})).await;
        assert_eq!((rl["Seq"].as_u64(), rl["Entries"].as_u64()), (Some(0), Some(0)), "{rl}");
        let keys = rl["TrustedKeys"].clone();
        let a = lic(&s, "ActivateSdkLicense", json!({"OrderId": order_id, "ActivationRequest": request(Sdk::Detect, "gate-1")})).await;
        assert_eq!(code(&a), "", "{a}");
        assert_eq!((a["Seat"].as_i64(), a["Created"].as_bool(), a["Generation"].as_u64()), (Some(1), Some(true), Some(1)));
        verify(&keys, &a["License"], None, &Subject::device(device("gate-1"))).unwrap();
        let changed = Fingerprint { system: Some(Component::MachineId.hash(b"reinstalled")), ..device("gate-1") };
        let text = ActivationRequest::new(Sdk::Detect, changed, None).unwrap().to_text();
        let b = lic(&s, "ActivateSdkLicense", json!({"OrderId": order_id, "ActivationRequest": text})).await;
        assert_eq!((b["LicenseId"].clone(), b["Created"].as_bool()), (a["LicenseId"].clone(), Some(false)));
        assert_eq!(b["License"], a["License"]);
        let r = lic(&s, "ActivateSdkLicense", json!({"OrderId": order_id, "ActivationRequest": "garbage"})).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        let r = lic(&s, "ActivateSdkLicense", json!({"OrderId": order_id, "ActivationRequest": request(Sdk::Search, "x")})).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");

        // Another account sees no such order, and cannot revoke this account's licence.
        let other = s
            .billing
            .create_account(billing::NewAccount { name: "other".into(), ..Default::default() }, now)
            .await
            .unwrap();
        let key = s.keys.create(other).await.unwrap();
        let r = s
            .call_with(
                "ActivateSdkLicense",
                json!({"OrderId": order_id, "ActivationRequest": request(Sdk::Detect, "y")}),
                &tamper("licensing", "2026-12-01", Some(&key)),
            )
            .await;
        assert_eq!(code(&r), "ResourceNotFound", "{r}");
        let r = s
            .call_with("RevokeSdkLicense", json!({"LicenseId": a["LicenseId"]}), &tamper("licensing", "2026-12-01", Some(&key)))
            .await;
        assert_eq!(code(&r), "AuthFailure.UnauthorizedOperation", "{r}");

        // Trials: three devices, a fourth refused.
        let reqs: Vec<String> = (1..=3).map(|i| request(Sdk::Search, &format!("t{i}"))).collect();
        let t = lic(&s, "CreateSdkTrial", json!({"Sdk": "search", "ActivationRequests": reqs})).await;
        assert_eq!(code(&t), "", "{t}");
        assert_eq!(t["Licenses"].as_array().unwrap().len(), 3);
        assert_eq!(t["Licenses"][0]["Kind"], "trial-device");
        let r = lic(&s, "CreateSdkTrial", json!({"Sdk": "search", "ActivationRequests": [request(Sdk::Search, "t4")]})).await;
        assert_eq!(code(&r), "LimitExceeded", "{r}");
        let r = lic(&s, "CreateSdkTrial", json!({"Sdk": "search", "Package": "com.acme.gate"})).await;
        assert_eq!(code(&r), "FailedOperation", "{r}");

        // Platform: charged, renewed a year from its end.
        let p = lic(&s, "CreateSdkPlatformLicense", json!({"Sdk": "detect", "Package": "com.acme.gate", "ClientToken": "plat-1"})).await;
        assert_eq!(code(&p), "", "{p}");
        assert_eq!((p["Total"].as_str(), p["Balance"].as_str()), (Some("300000.00"), Some("556000.00")));
        let pid = p["License"]["LicenseId"].as_str().unwrap().to_string();
        let end = p["License"]["ExpiresAt"].as_str().unwrap().to_string();
        let app = |pkg: &str| Subject::app(licensing::App {
            package: licensing::PackageName::new(pkg).unwrap(),
            certificate: None,
        });
        verify(&keys, &p["License"]["License"], None, &app("com.acme.gate")).unwrap();
        assert!(matches!(
            verify(&keys, &p["License"]["License"], None, &app("com.acme.other")),
            Err(VerifyError::WrongPackage { .. })
        ));
        let rn = lic(&s, "RenewSdkPlatformLicense", json!({"LicenseId": pid, "ClientToken": "renew-1"})).await;
        assert_eq!(code(&rn), "", "{rn}");
        assert_eq!(rn["License"]["Generation"], 2);
        let end_year: i32 = end[..4].parse().unwrap();
        assert_eq!(rn["License"]["ExpiresAt"].as_str().unwrap(), format!("{}{}", end_year + 1, &end[4..]));
        assert_eq!(rn["Balance"], "256000.00");
        let again = lic(&s, "RenewSdkPlatformLicense", json!({"LicenseId": pid, "ClientToken": "renew-1"})).await;
        assert_eq!((again["Replayed"].as_bool(), again["Balance"].as_str()), (Some(true), Some("256000.00")));
        assert_eq!(again["License"]["Generation"], 2);

        // Revocation: on the next signed list; the device refuses the licence with it.
        let r = lic(&s, "RevokeSdkLicense", json!({"LicenseId": a["LicenseId"]})).await;
        assert_eq!((r["RevocationListSeq"].as_i64(), r["RevokedNow"].as_bool()), (Some(1), Some(true)), "{r}");
        let rl = lic(&s, "DescribeSdkRevocationList", json!({})).await;
        assert_eq!(rl["Seq"], 1);
        assert!(matches!(
            verify(&keys, &a["License"], Some(&rl["RevocationList"]), &Subject::device(device("gate-1"))),
            Err(VerifyError::Revoked { .. })
        ));

        let list = lic(&s, "DescribeSdkLicenses", json!({})).await;
        assert_eq!(list["TotalCount"], 1 + 3 + 1);

        // The bill: each purchase its own line.
        let bill = s.call_with("DescribeBills", json!({}), &Tamper::billing()).await;
        assert_eq!(code(&bill), "", "{bill}");
        let kinds: Vec<(&str, &str)> = bill["SdkPurchases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["Kind"].as_str().unwrap(), l["Total"].as_str().unwrap()))
            .collect();
        assert_eq!(kinds, vec![("devices", "144000.00"), ("platform", "300000.00"), ("platform", "300000.00")]);
        assert_eq!(bill["SdkPurchasesTotal"], "744000.00");
        s.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_activations_from_two_nodes() {
    on_both!(db => {
        let a = common::start(db, common::config()).await;
        let b = common::second_node(db, &a, common::config()).await;
        a.billing.top_up(a.account, Money::yuan(100_000), chrono::Utc::now()).await.unwrap();
        let r = lic(&a, "CreateSdkOrder", json!({"Sdk": "detect", "Devices": 50})).await;
        assert_eq!(code(&r), "", "{r}");
        let order = r["OrderId"].as_i64().unwrap();
        let calls = (0..64).map(|i| {
            let node = if i % 2 == 0 { &a } else { &b };
            let params = json!({"OrderId": order, "ActivationRequest": request(Sdk::Detect, &format!("d{i}"))});
            lic(node, "ActivateSdkLicense", params)
        });
        let results = futures_join_all(calls).await;
        let granted: std::collections::BTreeSet<i64> = results
            .iter()
            .filter(|r| code(r).is_empty())
            .map(|r| r["Seat"].as_i64().unwrap())
            .collect();
        let refused = results.iter().filter(|r| code(r) == "LimitExceeded").count();
        assert_eq!(granted, (1..=50).collect(), "every seat once");
        assert_eq!(refused, 14, "{results:?}");
        b.stop().await;
        a.stop().await;
    });
}

/// Runs the futures concurrently (no `futures` dependency in this crate's tests).
async fn futures_join_all<F: std::future::Future<Output = Value>>(
    futs: impl Iterator<Item = F>,
) -> Vec<Value> {
    let mut set = Vec::new();
    for f in futs {
        set.push(f);
    }
    let mut out = Vec::with_capacity(set.len());
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    // Poll all to completion together.
    let results = std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out.len() <= i {
                out.push(None);
            }
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(std::mem::take(&mut out))
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results
        .into_iter()
        .map(|v| v.unwrap_or(Value::Null))
        .collect()
}
