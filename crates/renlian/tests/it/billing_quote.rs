//! `renlian quote …`: every worked example of billing.md, the tier boundaries and rounding.

use crate::billing_support;

use billing_support::{Backend, Env};
use serde_json::Value;

async fn env() -> Env {
    Env::new(Backend::Sqlite).await
}

fn total(v: &Value) -> &str {
    v["total"].as_str().unwrap()
}

#[tokio::test]
async fn documents_worked_examples() {
    let e = env().await;
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "quote",
                "prepaid-year",
                "--item",
                "compare",
                "--calls",
                "30000000",
            ],
            "91200.00",
        ),
        (
            &[
                "quote", "prepaid", "--item", "search", "--calls", "52000000", "--pack", "50m",
            ],
            "148868.00",
        ),
        (
            &[
                "quote",
                "postpaid",
                "--item",
                "landmarks",
                "--calls",
                "1000000",
            ],
            "1980.00",
        ),
        (
            &[
                "quote", "postpaid", "--item", "compare", "--calls", "3500000",
            ],
            "10470.00",
        ),
        (
            &[
                "quote", "postpaid", "--item", "liveness", "--calls", "5000000",
            ],
            "8483.00",
        ),
        (
            &["quote", "sdk-device", "--sdk", "detect", "--devices", "500"],
            "144000.00",
        ),
        (
            &[
                "quote",
                "sdk-device",
                "--sdk",
                "search",
                "--devices",
                "4000",
            ],
            "1232000.00",
        ),
        (&["quote", "sdk-platform", "--sdk", "detect"], "300000.00"),
    ];
    for (args, want) in cases {
        let v = e.json(args);
        assert_eq!(total(&v), *want, "{args:?}");
        assert!(v["lines"].as_array().is_some_and(|l| !l.is_empty()));
    }
}

#[tokio::test]
async fn prepaid_year_shows_the_mix_and_the_postpaid_alternative() {
    let e = env().await;
    let v = e.json(&[
        "quote",
        "prepaid-year",
        "--item",
        "compare",
        "--calls",
        "30000000",
    ]);
    let lines = v["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["quantity"], 3);
    assert_eq!(lines[0]["unit_price"], "30400");
    assert_eq!(lines[0]["amount"], "91200.00");
    // 2.5M calls a month, 10,000 free each: 2,490,000 × 0.0032 = 7968.00, twelve times.
    assert_eq!(v["postpaid_alternative"]["total"], "95616.00");
}

#[tokio::test]
async fn postpaid_tier_boundaries() {
    let e = env().await;
    // calls include the 10,000 free: V = calls − 10,000
    for (calls, tier, want) in [
        ("3010000", 1, "1500.00"),  // V = 3,000,000 × 0.0005
        ("3010001", 2, "1200.00"),  // V = 3,000,001 × 0.0004 = 1200.0004
        ("15010000", 2, "6000.00"), // V = 15,000,000 × 0.0004
        ("15010001", 3, "4500.00"), // V = 15,000,001 × 0.0003 = 4500.0003
    ] {
        let v = e.json(&["quote", "postpaid", "--item", "detect", "--calls", calls]);
        assert_eq!(total(&v), want, "{calls}");
        let post = v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == "postpaid")
            .unwrap();
        assert_eq!(post["tier"], tier, "{calls}");
    }
}

#[tokio::test]
async fn device_tier_boundaries() {
    let e = env().await;
    let err = e.fails(&["quote", "sdk-device", "--sdk", "detect", "--devices", "49"]);
    assert!(err.contains("minimum order of 50"), "{err}");
    for (q, want) in [
        ("50", "14400.00"),
        ("1000", "288000.00"),
        ("1001", "238238.00"),
        ("5000", "1190000.00"),
        ("5001", "940188.00"),
    ] {
        let v = e.json(&["quote", "sdk-device", "--sdk", "detect", "--devices", q]);
        assert_eq!(total(&v), want, "{q}");
    }
    let v = e.json(&[
        "quote",
        "sdk-device",
        "--sdk",
        "3d-liveness-search",
        "--devices",
        "6000",
    ]);
    assert_eq!(total(&v), "1788000.00");
    let v = e.json(&[
        "quote",
        "sdk-platform",
        "--sdk",
        "ir-liveness-search",
        "--years",
        "2",
    ]);
    assert_eq!(total(&v), "1200000.00");
}

#[tokio::test]
async fn rounding_is_half_up_after_multiplying() {
    let e = env().await;
    for (calls, want) in [
        ("10001", "0.00"), // 0.0005
        ("10010", "0.01"), // 0.005
        ("10050", "0.03"), // 0.025: half-up, not to even
        ("10070", "0.04"), // 0.035
    ] {
        let v = e.json(&["quote", "postpaid", "--item", "detect", "--calls", calls]);
        assert_eq!(total(&v), want, "{calls}");
    }
}

#[tokio::test]
async fn unknown_names_and_bad_values_fail_clearly() {
    let e = env().await;
    let err = e.fails(&["quote", "postpaid", "--item", "faces", "--calls", "1"]);
    assert!(err.contains("unknown item \"faces\""), "{err}");
    let err = e.fails(&[
        "quote", "prepaid", "--item", "detect", "--calls", "1", "--pack", "5m",
    ]);
    assert!(err.contains("unknown pack size"), "{err}");
    let err = e.fails(&[
        "quote",
        "sdk-device",
        "--sdk",
        "android",
        "--devices",
        "100",
    ]);
    assert!(err.contains("unknown sdk"), "{err}");
    let err = e.fails(&["quote", "postpaid", "--item", "detect", "--calls", "-5"]);
    assert!(!err.is_empty());
    let err = e.fails(&["quote", "sdk-platform", "--sdk", "detect", "--years", "0"]);
    assert!(err.contains("years"), "{err}");
}
