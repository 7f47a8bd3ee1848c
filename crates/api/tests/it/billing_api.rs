//! The `billing` service over HTTP: an account's balance, packs, usage, bills and notices,
//! buying a pack (and its refusal on a short balance), and that one account never sees
//! another's data, on SQLite and on PostgreSQL.

use crate::common;

use billing::{Item, Money, Tier};
use common::{b64, blank_png, code, Tamper};
use serde_json::{json, Value};

/// Calls a billing action as `who` (the server's own key when `None`).
async fn billing_call(
    s: &common::Server,
    action: &str,
    params: Value,
    who: Option<&api::NewKey>,
) -> Value {
    let mut t = Tamper::billing();
    if let Some(k) = who {
        t.secret_id = Some(k.secret_id.clone());
        t.secret_key = Some(k.secret_key.clone());
    }
    s.call_with(action, params, &t).await
}

async fn usage_rows(s: &common::Server) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM billing_usage WHERE account_id = $1")
        .bind(s.account)
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_service_actions() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let now = chrono::Utc::now();
        s.billing.top_up(s.account, Money::yuan(1000), now).await.unwrap();

        let r = billing_call(&s, "DescribeAccountBalance", json!({}), None).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["AccountId"], s.account);
        assert_eq!(r["Balance"], "1000.00");
        assert_eq!(r["Frozen"], "0.00");
        assert_eq!(r["Available"], "1000.00");
        assert_eq!(r["State"], "active");

        // A 1m detect pack costs 450 yuan (the prepaid table), paid at once.
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m"}), None).await;
        assert_eq!(code(&r), "", "{r}");
        let pack = &r["ResourcePack"];
        let pack_id = pack["PackId"].as_i64().unwrap();
        assert_eq!(pack["Item"], "detect");
        assert_eq!(pack["Size"], "1m");
        assert_eq!(pack["Units"], 1_000_000);
        assert_eq!(pack["Remaining"], 1_000_000);
        assert_eq!(pack["Price"], "450.00");
        assert_eq!(pack["State"], "active");
        assert_eq!(r["Balance"], "550.00");
        assert_eq!(r["Available"], "550.00");
        let packs = s.billing.packs(s.account).await.unwrap();
        assert_eq!(packs.len(), 1);
        assert_eq!(packs[0].id, pack_id);
        let view = s.billing.account(s.account).await.unwrap();
        assert_eq!(view.balance, Money::yuan(550));

        // Three metered face calls (NoFaceInPhoto is billable), all in the free units...
        for _ in 0..3 {
            let r = s.call("DetectFace", json!({"Image": b64(&blank_png())})).await;
            assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto", "{r}");
        }
        assert_eq!(s.metered("DetectFace").await, 3);
        // ...then the rest of the 10,000 free units and 900,000 from the pack (below 15%
        // left: a pack_low notice), then past the pack (pack_exhausted) into postpaid.
        // (Timed after the purchase: a pack only serves calls made once it is bought.)
        let later = chrono::Utc::now();
        s.billing.import_usage(s.account, Item::Detect, 9_997 + 900_000, later, "imp-1").await.unwrap();
        s.billing.import_usage(s.account, Item::Detect, 100_005, later, "imp-2").await.unwrap();
        let rows_before = usage_rows(&s).await;

        let r = billing_call(&s, "DescribeResourcePacks", json!({}), None).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["TotalCount"], 1);
        let p = &r["ResourcePacks"][0];
        assert_eq!(p["PackId"], pack_id);
        assert_eq!(p["Item"], "detect");
        assert_eq!(p["Size"], "1m");
        assert_eq!(p["Remaining"], 0);
        assert_eq!(p["State"], "exhausted");
        assert_eq!(p["PurchasedAt"], pack["PurchasedAt"]);
        let purchased: chrono::DateTime<chrono::Utc> = p["PurchasedAt"].as_str().unwrap().parse().unwrap();
        let expires: chrono::DateTime<chrono::Utc> = p["ExpiresAt"].as_str().unwrap().parse().unwrap();
        assert!((expires - purchased).num_days() >= 365, "{p}");

        let month = billing::Month::of(now, billing::time::parse_tz(&view.time_zone).unwrap()).to_string();
        let r = billing_call(&s, "DescribeUsage", json!({"Month": month}), None).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["Month"], month.as_str());
        assert_eq!(
            r["Usage"],
            json!([{"Item": "detect", "Calls": 1_010_005, "Free": 10_000, "Pack": 1_000_000, "Postpaid": 5}])
        );
        // Without a Month: the current month of the account.
        let r2 = billing_call(&s, "DescribeUsage", json!({}), None).await;
        assert_eq!(r2["Usage"], r["Usage"]);

        let r = billing_call(&s, "DescribeBills", json!({"Month": month}), None).await;
        assert_eq!(code(&r), "", "{r}");
        let unit = Item::Detect.unit_price(Tier::postpaid(5));
        let amount = Money::rate(5, unit).to_string();
        assert_eq!(r["Status"], "open");
        assert_eq!(r["Lines"].as_array().unwrap().len(), 1, "{r}");
        let line = &r["Lines"][0];
        assert_eq!(line["Item"], "detect");
        assert_eq!(line["Calls"], 1_010_005);
        assert_eq!(line["Postpaid"], 5);
        assert_eq!(line["Tier"], 1);
        assert_eq!(line["UnitPrice"], unit.normalize().to_string());
        assert_eq!(line["Amount"], amount.as_str());
        assert_eq!(r["Total"], amount.as_str());
        assert_eq!(r["PackPurchases"][0]["PackId"], pack_id);
        assert_eq!(r["PackPurchases"][0]["Price"], "450.00");
        assert_eq!(r["PackPurchasesTotal"], "450.00");
        assert!(r["Settlement"].is_null());
        // The same bill as the engine (and `renlian bill`) gives.
        let engine_bill = s.billing.bill(s.account, month.parse().unwrap(), chrono::Utc::now()).await.unwrap();
        assert_eq!(r["Total"], engine_bill.total.to_string());

        let r = billing_call(&s, "DescribeNotices", json!({}), None).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["TotalCount"], 2, "{r}");
        let kinds: Vec<&str> = r["Notices"].as_array().unwrap().iter().map(|n| n["Kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["pack_low", "pack_exhausted"]);
        for n in r["Notices"].as_array().unwrap() {
            assert_eq!(n["PackId"], pack_id);
            assert!(n["CreatedAt"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
            // No email or phone on the account: in-app only, delivered at once.
            assert_eq!(n["DeliveryState"], "delivered");
            assert_eq!(n["Deliveries"], json!([{
                "Channel": "in_app", "Target": "", "State": "delivered", "Attempts": n["Deliveries"][0]["Attempts"],
                "LastError": null, "NextAttemptAt": null, "DeliveredAt": n["Deliveries"][0]["DeliveredAt"],
            }]));
        }

        // Parameters and services.
        let r = billing_call(&s, "BuyResourcePack", json!({"Size": "1m"}), None).await;
        assert_eq!(code(&r), "MissingParameter", "{r}");
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "hair", "Size": "1m"}), None).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "2m"}), None).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        let r = billing_call(&s, "DescribeBills", json!({"Month": "2026-13"}), None).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        // Signed for the face service, a billing action does not exist there, and back.
        assert_eq!(code(&s.call("DescribeAccountBalance", json!({})).await), "InvalidAction");
        let r = billing_call(&s, "GetGroupList", json!({}), None).await;
        assert_eq!(code(&r), "InvalidAction", "{r}");
        let t = Tamper { version: Some("2020-03-03".into()), ..Tamper::billing() };
        assert_eq!(code(&s.call_with("DescribeAccountBalance", json!({}), &t).await), "NoSuchVersion");

        // None of the billing calls was metered.
        assert_eq!(usage_rows(&s).await, rows_before);
        assert_eq!(s.metered("DetectFace").await, 3);
        s.stop().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn short_balance_and_isolation() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let now = chrono::Utc::now();
        s.billing.top_up(s.account, Money::yuan(500), now).await.unwrap();
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m"}), None).await;
        assert_eq!(code(&r), "", "{r}");

        // A second account with 100 yuan and its own key.
        let other = s
            .billing
            .create_account(billing::NewAccount { name: "other".into(), ..Default::default() }, now)
            .await
            .unwrap();
        s.billing.top_up(other, Money::yuan(100), now).await.unwrap();
        let key = s.keys.create(other).await.unwrap();

        // It cannot afford a 450-yuan pack: refused, nothing charged, no pack.
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m"}), Some(&key)).await;
        assert_eq!(code(&r), "FailedOperation.InsufficientBalance", "{r}");
        assert!(r["Error"]["Message"].as_str().unwrap().contains("450.00"), "{r}");
        let r = billing_call(&s, "DescribeAccountBalance", json!({}), Some(&key)).await;
        assert_eq!(r["AccountId"], other);
        assert_eq!(r["Balance"], "100.00");
        assert_eq!(r["Available"], "100.00");
        assert!(s.billing.packs(other).await.unwrap().is_empty());

        // It sees none of the first account's pack, usage or bill.
        let r = billing_call(&s, "DescribeResourcePacks", json!({}), Some(&key)).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["TotalCount"], 0);
        assert_eq!(r["ResourcePacks"], json!([]));
        let r = billing_call(&s, "DescribeBills", json!({}), Some(&key)).await;
        assert_eq!(r["PackPurchases"], json!([]));
        assert_eq!(r["Total"], "0.00");
        // The first account still sees its own.
        let r = billing_call(&s, "DescribeResourcePacks", json!({}), None).await;
        assert_eq!(r["TotalCount"], 1);
        let r = billing_call(&s, "DescribeAccountBalance", json!({}), None).await;
        assert_eq!(r["Balance"], "50.00");
        s.stop().await;
    });
}

/// A signature-v1 GET (no service in the signature: the action name decides).
/// BuyResourcePack's ClientToken: a retry gets the same pack and pays once, on this node
/// or another; the same token for another pack is refused; two identical requests at once
/// buy one pack.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buy_resource_pack_client_token() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let other = common::second_node(db, &s, common::config()).await;
        s.billing.top_up(s.account, Money::yuan(100000), chrono::Utc::now()).await.unwrap();
        let buy = json!({"Item": "detect", "Size": "1m", "ClientToken": "retry-7f3a"});
        let r1 = billing_call(&s, "BuyResourcePack", buy.clone(), None).await;
        assert_eq!(code(&r1), "", "{r1}");
        assert_eq!(r1["Balance"], "99550.00");
        // The client timed out and retries, reaching the other node.
        let r2 = billing_call(&other, "BuyResourcePack", buy.clone(), None).await;
        assert_eq!(code(&r2), "", "{r2}");
        assert_eq!(r2["ResourcePack"]["PackId"], r1["ResourcePack"]["PackId"]);
        assert_eq!(r2["ResourcePack"]["PurchasedAt"], r1["ResourcePack"]["PurchasedAt"]);
        assert_eq!(r2["Balance"], "99550.00");

        // The same token for another pack: refused, naming the conflict; nothing charged.
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "10m", "ClientToken": "retry-7f3a"}), None).await;
        assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        let msg = r["Error"]["Message"].as_str().unwrap();
        assert!(msg.contains("retry-7f3a") && msg.contains("detect 1m") && msg.contains("detect 10m"), "{msg}");
        // Malformed tokens.
        for bad in [json!("a".repeat(65)), json!(""), json!("with space")] {
            let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m", "ClientToken": bad}), None).await;
            assert_eq!(code(&r), "InvalidParameterValue", "{r}");
        }
        let r = billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m", "ClientToken": 7}), None).await;
        assert_eq!(code(&r), "InvalidParameter", "{r}");

        // Two identical requests at once, one per node: one pack, one charge.
        let race = json!({"Item": "search", "Size": "10m", "ClientToken": "race-1"});
        let (a, b) = tokio::join!(
            billing_call(&s, "BuyResourcePack", race.clone(), None),
            billing_call(&other, "BuyResourcePack", race.clone(), None),
        );
        assert_eq!(code(&a), "", "{a}");
        assert_eq!(code(&b), "", "{b}");
        assert_eq!(a["ResourcePack"]["PackId"], b["ResourcePack"]["PackId"]);
        let r = billing_call(&s, "DescribeResourcePacks", json!({}), None).await;
        assert_eq!(r["TotalCount"], 2, "{r}");
        // 100000 − 450 − 30400.
        let r = billing_call(&s, "DescribeAccountBalance", json!({}), None).await;
        assert_eq!(r["Balance"], "69150.00");

        // Without a token every request buys (a retry without one buys twice).
        billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m"}), None).await;
        billing_call(&s, "BuyResourcePack", json!({"Item": "detect", "Size": "1m"}), None).await;
        let r = billing_call(&s, "DescribeResourcePacks", json!({}), None).await;
        assert_eq!(r["TotalCount"], 4, "{r}");
        other.stop().await;
        s.stop().await;
    });
}

async fn v1_get(s: &common::Server, action: &str, version: &str, fields: &[(&str, &str)]) -> Value {
    let mut params: Vec<(String, String)> = [
        ("Action", action),
        ("Version", version),
        ("Region", "ap-guangzhou"),
        ("SecretId", s.secret_id.as_str()),
        ("SignatureMethod", "HmacSHA256"),
    ]
    .iter()
    .chain(fields)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    params.push((
        "Timestamp".into(),
        chrono::Utc::now().timestamp().to_string(),
    ));
    params.push(("Nonce".into(), next_nonce()));
    let host = s.addr.to_string();
    let to_sign = api::auth::v1_string_to_sign("GET", &host, "/", &params);
    let sig = api::auth::v1_signature(
        &s.secret_key,
        api::auth::SignatureMethod::HmacSha256,
        &to_sign,
    );
    params.push(("Signature".into(), sig));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let v: Value = s
        .http
        .get(format!("http://{host}/?{query}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["Response"].clone()
}

fn next_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    (N.fetch_add(1, Ordering::Relaxed) + 1000).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_over_signature_v1() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        s.billing.top_up(s.account, Money::yuan(5000), chrono::Utc::now()).await.unwrap();
        let r = v1_get(&s, "BuyResourcePack", "2018-07-09", &[("Item", "search"), ("Size", "1m")]).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["ResourcePack"]["Price"], "3100.00");
        let r = v1_get(&s, "DescribeAccountBalance", "2018-07-09", &[]).await;
        assert_eq!(r["Balance"], "1900.00", "{r}");
        // The billing service's version, not the face API's.
        let r = v1_get(&s, "DescribeAccountBalance", "2020-03-03", &[]).await;
        assert_eq!(code(&r), "NoSuchVersion", "{r}");
        s.stop().await;
    });
}
