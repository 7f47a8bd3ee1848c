//! `renlian license …` over a database, on SQLite and PostgreSQL: SDK orders charged
//! through billing, issue and verify, the same device twice, seats exhausted, trials,
//! platform licences and renewal, revocation, the bill's SDK lines.

use crate::billing_support;

use billing_support::{Backend, Env};

async fn flow(e: Env) {
    let dir = e.dir.path().to_path_buf();
    let p = |name: &str| dir.join(name).display().to_string();
    let id = e.json(&["account", "create", "acme"])["id"]
        .as_i64()
        .unwrap();
    let ids = id.to_string();
    e.json(&[
        "account",
        "topup",
        &ids,
        "2000000",
        "--at",
        "2027-01-05T00:00:00Z",
    ]);
    let balance = |e: &Env| {
        e.json(&["account", "show", &ids])["balance"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Orders: 49 refused; tier prices; a ClientToken charges once; short balance refused.
    let order = |sdk: &str, devices: &str, token: Option<&str>| {
        let mut args = vec![
            "license",
            "order",
            "--sdk",
            sdk,
            "--devices",
            devices,
            "--account",
            &ids,
            "--at",
            "2027-01-10T00:00:00Z",
        ];
        if let Some(t) = token {
            args.extend(["--client-token", t]);
        }
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: &[String]| e.json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let fails = |args: &[String]| e.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = fails(&order("detect", "49", None));
    assert!(err.contains("below the minimum order of 50"), "{err}");
    let o1 = run(&order("detect", "500", Some("t-1")));
    assert_eq!(o1["total"], "144000.00");
    assert_eq!(o1["replayed"], false);
    let again = run(&order("detect", "500", Some("t-1")));
    assert_eq!(
        (again["id"].clone(), again["replayed"].clone()),
        (o1["id"].clone(), true.into())
    );
    assert_eq!(balance(&e), "1856000.00");
    let err = fails(&order("detect", "600", Some("t-1")));
    assert!(err.contains("already used"), "{err}");
    let o2 = run(&order("search", "4000", None));
    assert_eq!(o2["total"], "1232000.00");
    assert_eq!(balance(&e), "624000.00");
    let err = fails(&order("search", "4000", None));
    assert!(err.contains("insufficient available balance"), "{err}");
    assert_eq!(balance(&e), "624000.00", "a refused order charges nothing");

    // Issue and verify; the same device again gets the same seat and file.
    let o1s = o1["id"].to_string();
    let issue = |order: &str, device: &str, out: &str| {
        e.json(&[
            "license", "issue", "--order", order, "--device", device, "--out", out,
        ])
    };
    let l1 = issue(&o1s, "gate-1", &p("gate-1.lic"));
    assert_eq!(
        (l1["seat"].as_i64(), l1["created"].as_bool()),
        (Some(1), Some(true))
    );
    let lid = l1["id"].as_str().unwrap().to_string();
    let file1 = std::fs::read_to_string(p("gate-1.lic")).unwrap();
    let l1b = issue(&o1s, "gate-1", &p("gate-1b.lic"));
    assert_eq!(
        (l1b["id"].as_str(), l1b["created"].as_bool()),
        (Some(lid.as_str()), Some(false))
    );
    assert_eq!(std::fs::read_to_string(p("gate-1b.lic")).unwrap(), file1);
    let v = e.json(&["license", "verify", &p("gate-1.lic"), "--device", "gate-1"]);
    assert_eq!(
        (v["valid"].as_bool(), v["status"].as_str()),
        (Some(true), Some("valid"))
    );
    let err = e.fails(&["license", "verify", &p("gate-1.lic"), "--device", "gate-2"]);
    assert!(err.contains("bound to another device"), "{err}");

    // The offline flow: a request file made on this machine.
    let r = e.json(&[
        "license",
        "request",
        "--sdk",
        "detect",
        "--state-dir",
        &p("sdk"),
        "--out",
        &p("req.txt"),
    ]);
    assert!(r["components"].as_u64().unwrap() >= 1);
    let l2 = issue(&o1s, &p("req.txt"), &p("req.lic"));
    assert_eq!(l2["seat"], 2);
    e.json(&[
        "license",
        "verify",
        &p("req.lic"),
        "--request",
        &p("req.txt"),
    ]);

    // Seats exhausted: an order of 50.
    let o3 = run(&order("detect", "50", None));
    let o3s = o3["id"].to_string();
    for i in 0..50 {
        issue(&o3s, &format!("cam-{i}"), &p("cam.lic"));
    }
    let err = e.fails(&[
        "license",
        "issue",
        "--order",
        &o3s,
        "--device",
        "cam-50",
        "--out",
        &p("x.lic"),
    ]);
    assert!(err.contains("all 50 seats of order"), "{err}");
    issue(&o3s, "cam-7", &p("cam.lic"));

    // Revoke: on the next list; verify refuses (database list, and the list file).
    let rv = e.json(&["license", "revoke", &lid]);
    assert_eq!(rv["seq"], 1);
    let err = e.fails(&["license", "verify", &p("gate-1.lic"), "--device", "gate-1"]);
    assert!(err.contains("revoked by revocation list 1"), "{err}");
    let rl = e.json(&["license", "revocations", "--out", &p("rl.txt")]);
    assert_eq!(
        (rl["seq"].as_u64(), rl["entries"].as_u64()),
        (Some(1), Some(1))
    );
    let err = e.fails(&[
        "license",
        "verify",
        &p("gate-1.lic"),
        "--device",
        "gate-1",
        "--revocations",
        &p("rl.txt"),
    ]);
    assert!(err.contains("revoked"), "{err}");

    // Move cam-7's seat (8) to a new device: generation 2; the old file is refused.
    let seat8 = format!("dev-{o3s}-8");
    let m = e.json(&[
        "license",
        "move",
        &seat8,
        "--device",
        "cam-new",
        "--out",
        &p("moved.lic"),
    ]);
    assert_eq!(
        (m["generation"].as_u64(), m["seat"].as_i64()),
        (Some(2), Some(8))
    );
    e.json(&["license", "verify", &p("moved.lic"), "--device", "cam-new"]);
    let err = e.fails(&["license", "verify", &p("cam.lic"), "--device", "cam-7"]);
    assert!(err.contains("revoked by revocation list 2"), "{err}");

    // Trials: three devices, a fourth refused, one trial per account and SDK.
    let t = e.json(&[
        "license",
        "trial",
        "--sdk",
        "search",
        "--account",
        &ids,
        "--device",
        "t-1",
        "--device",
        "t-2",
        "--device",
        "t-3",
        "--out",
        &p("trial"),
        "--at",
        "2027-01-10T00:00:00Z",
    ]);
    assert_eq!(t.as_array().unwrap().len(), 3);
    assert_eq!(t[0]["expires_at"], "2027-02-09T00:00:00+00:00");
    let err = e.fails(&[
        "license",
        "trial",
        "--sdk",
        "search",
        "--account",
        &ids,
        "--device",
        "t-4",
        "--out",
        &p("t4.lic"),
    ]);
    assert!(err.contains("already binds 3 devices"), "{err}");
    let err = e.fails(&[
        "license",
        "trial",
        "--sdk",
        "search",
        "--account",
        &ids,
        "--package",
        "com.acme.gate",
        "--out",
        &p("tp.lic"),
    ]);
    assert!(err.contains("one trial per account and SDK"), "{err}");
    let tp = e.json(&[
        "license",
        "trial",
        "--sdk",
        "detect",
        "--account",
        &ids,
        "--package",
        "com.acme.gate",
        "--out",
        &p("tp.lic"),
        "--at",
        "2027-01-10T00:00:00Z",
    ]);
    assert_eq!(tp[0]["kind"], "trial-platform");
    let trial_file = format!("{}/{}.lic", p("trial"), t[1]["id"].as_str().unwrap());
    e.json(&[
        "license",
        "verify",
        &trial_file,
        "--device",
        "t-2",
        "--at",
        "2027-02-01T00:00:00Z",
    ]);
    let err = e.fails(&[
        "license",
        "verify",
        &trial_file,
        "--device",
        "t-2",
        "--at",
        "2027-02-10T00:00:00Z",
    ]);
    assert!(err.contains("expired"), "{err}");

    // Platform: charged, bound to the package (and certificate), renewed from its end.
    let cert = "AB".repeat(32);
    let pl = e.json(&[
        "license",
        "platform",
        "--sdk",
        "detect",
        "--package",
        "com.acme.gate",
        "--cert-sha256",
        &cert,
        "--account",
        &ids,
        "--out",
        &p("plat.lic"),
        "--at",
        "2027-01-10T00:00:00Z",
    ]);
    assert_eq!(pl["total"], "300000.00");
    assert_eq!(pl["expires_at"], "2028-01-10T00:00:00+00:00");
    let pid = pl["id"].as_str().unwrap().to_string();
    e.json(&[
        "license",
        "verify",
        &p("plat.lic"),
        "--package",
        "com.acme.gate",
        "--cert-sha256",
        &cert,
        "--at",
        "2027-03-01T00:00:00Z",
    ]);
    let err = e.fails(&[
        "license",
        "verify",
        &p("plat.lic"),
        "--package",
        "com.acme.other",
        "--at",
        "2027-03-01T00:00:00Z",
    ]);
    assert!(err.contains("is for app package com.acme.gate"), "{err}");
    let rn = e.json(&[
        "license",
        "renew",
        &pid,
        "--account",
        &ids,
        "--out",
        &p("plat2.lic"),
        "--at",
        "2027-06-01T00:00:00Z",
    ]);
    assert_eq!(
        (rn["generation"].as_u64(), rn["total"].as_str()),
        (Some(2), Some("300000.00"))
    );
    assert_eq!(rn["expires_at"], "2029-01-10T00:00:00+00:00");
    let v = e.json(&[
        "license",
        "verify",
        &p("plat2.lic"),
        "--package",
        "com.acme.gate",
        "--cert-sha256",
        &cert,
        "--at",
        "2028-06-01T00:00:00Z",
    ]);
    assert_eq!(v["generation"], 2);
    // 2,000,000 − 144,000 − 1,232,000 − 14,400 − 300,000 − 300,000
    assert_eq!(balance(&e), "9600.00");
    let err = e.fails(&["license", "renew", &pid, "--account", &ids]);
    assert!(err.contains("insufficient available balance"), "{err}");

    // The bill: each purchase a line in the month it was bought.
    let bill = e.json(&[
        "bill",
        "--account",
        &ids,
        "--month",
        "2027-01",
        "--at",
        "2027-01-20T00:00:00Z",
    ]);
    let lines: Vec<(String, String, u64, String)> = bill["sdk_purchases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["sdk"].as_str().unwrap().to_string(),
                l["quantity"].as_u64().unwrap(),
                l["total"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let line = |k: &str, s: &str, q: u64, t: &str| (k.to_string(), s.to_string(), q, t.to_string());
    assert_eq!(
        lines,
        vec![
            line("devices", "detect", 500, "144000.00"),
            line("devices", "search", 4000, "1232000.00"),
            line("devices", "detect", 50, "14400.00"),
            line("platform", "detect", 1, "300000.00"),
        ]
    );
    assert_eq!(bill["sdk_purchases_total"], "1690400.00");
    assert_eq!(bill["total"], "0.00");
    let june = e.json(&[
        "bill",
        "--account",
        &ids,
        "--month",
        "2027-06",
        "--at",
        "2027-06-20T00:00:00Z",
    ]);
    assert_eq!(june["sdk_purchases"][0]["package"], "com.acme.gate");

    // Listing and keys.
    let list = e.json(&["license", "list", "--account", &ids]);
    assert_eq!(list.as_array().unwrap().len(), 2 + 50 + 3 + 1 + 1);
    let keys = e.json(&["license", "keys"]);
    assert_eq!(keys.as_array().unwrap().len(), 1);
    let keys = e.json(&["license", "keys", "--rotate"]);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    // Licences of the first key still verify; new files are signed by the new key.
    e.json(&[
        "license",
        "verify",
        &p("req.lic"),
        "--request",
        &p("req.txt"),
    ]);
    e.json(&[
        "license",
        "show",
        l2["id"].as_str().unwrap(),
        "--out",
        &p("req2.lic"),
    ]);
    let body = std::fs::read_to_string(p("req2.lic")).unwrap();
    assert!(
        body.contains(&format!("v1.{}.", keys[1]["id"].as_str().unwrap())),
        "{body}"
    );
    e.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_flow_sqlite() {
    flow(Env::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_flow_postgres() {
    flow(Env::new(Backend::Postgres).await).await;
}
