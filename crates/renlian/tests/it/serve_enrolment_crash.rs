//! kill -9 of a live `renlian serve` while it takes signed CreatePerson calls over HTTP
//! (TC3) from concurrent clients: every acknowledged CreatePerson's person is stored and
//! billed once, no RequestId is billed that did not store its person, and the enrolments
//! the kill left pending are settled by the reconciliation. Then the restarted server
//! serves the same gallery. On SQLite and PostgreSQL.

use crate::billing_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::serve_support::{Client, Serve};
use billing_support::{Backend, Env};
use serde_json::{json, Value};
use sqlx::Row;

/// Client tasks sending CreatePerson back to back.
const CLIENTS: usize = 6;
/// At most this many calls in all (the kill comes long before).
const MAX_CALLS: usize = 300;
/// Acknowledged calls before the kill is armed.
const ACKS_BEFORE_KILL: usize = 24;
/// Once armed, the kill waits up to this long for an enrolment to be pending in the
/// database (metered, not yet confirmed), so that the kill lands inside the protocol.
const PENDING_WAIT: Duration = Duration::from_secs(3);

/// The answers the clients got before the kill: (PersonId, RequestId) per acknowledged
/// CreatePerson, and the RequestIds of calls answered with an error.
#[derive(Default)]
struct Answers {
    acked: Vec<(String, String)>,
    refused: Vec<(String, String)>,
}

impl Answers {
    fn record(&mut self, (person, r): (String, Value)) {
        let request_id = r["RequestId"].as_str().unwrap_or_default().to_string();
        assert!(!request_id.is_empty(), "{r}");
        if r.get("Error").is_some() {
            eprintln!("{person}: {r}");
            self.refused.push((person, request_id));
        } else {
            self.acked.push((person, request_id));
        }
    }
}

async fn pending(pool: &sqlx::AnyPool) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM billing_enrolments WHERE outcome IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// Fires CreatePerson calls from [`CLIENTS`] tasks and kills the server mid-load.
async fn load_and_kill(e: &Env, server: Serve, client: &Client, image: &str) -> Answers {
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, next, tx, image) =
            (client.clone(), next.clone(), tx.clone(), image.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MAX_CALLS {
                    return;
                }
                let person = format!("p{i}");
                let params = json!({
                    "GroupId": "crash", "PersonId": person, "PersonName": person, "Image": image,
                });
                match client.call("CreatePerson", &params).await {
                    Ok(r) => {
                        if tx.send((person, r)).is_err() {
                            return;
                        }
                    }
                    // The server is gone: whatever was in flight is unacknowledged.
                    Err(_) => return,
                }
            }
        }));
    }
    drop(tx);
    let mut answers = Answers::default();
    let started = Instant::now();
    while answers.acked.len() < ACKS_BEFORE_KILL {
        let answer = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("no answer for 60 s")
            .expect("the clients stopped before the kill");
        answers.record(answer);
    }
    // Armed: kill as soon as an enrolment is seen pending (or after PENDING_WAIT).
    let pool = e.pool().await;
    let armed = Instant::now();
    while armed.elapsed() < PENDING_WAIT && pending(&pool).await == 0 {
        while let Ok(answer) = rx.try_recv() {
            answers.record(answer);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    pool.close().await;
    for t in tasks {
        t.await.unwrap();
    }
    while let Some(answer) = rx.recv().await {
        answers.record(answer);
    }
    eprintln!(
        "killed after {:.1} s: {} acknowledged, {} refused, {} sent",
        started.elapsed().as_secs_f64(),
        answers.acked.len(),
        answers.refused.len(),
        next.load(Ordering::Relaxed).min(MAX_CALLS)
    );
    answers
}

async fn crash(e: Env) {
    let account = e.json(&["account", "create", "serve crash"])["id"]
        .as_i64()
        .unwrap();
    let key = e.json(&["key", "create", "--account", &account.to_string()]);
    let image = crate::serve_support::small_photo_b64();
    let server = Serve::start(&e, 1);
    let mut client = Client {
        http: reqwest::Client::new(),
        addr: server.addr,
        secret_id: key["SecretId"].as_str().unwrap().to_string(),
        secret_key: key["SecretKey"].as_str().unwrap().to_string(),
    };
    client
        .ok(
            "CreateGroup",
            json!({"GroupId": "crash", "GroupName": "crash"}),
        )
        .await;

    let answers = load_and_kill(&e, server, &client, &image).await;

    let before = e.ledger(account).await;
    let pending = before.outcomes.values().filter(|o| o.is_none()).count();
    // Pending ones count as used until settled.
    assert_eq!(before.counted as usize, before.net.len());
    for (person, id) in &answers.acked {
        assert!(
            before.persons.contains(person),
            "{person} ({id}) not stored"
        );
        assert_eq!(before.net.get(id), Some(&1), "{person} ({id})");
        assert_eq!(before.outcomes[id].as_deref(), Some("confirmed"), "{id}");
    }

    // The restarted server (its own reconciliation leaves enrolments younger than the
    // grace period alone), and the reconciliation with no grace beside it.
    let server = Serve::start(&e, 2);
    client.addr = server.addr;
    let r = e.json(&["usage", "reconcile", "--grace", "0"]);
    assert_eq!(r["failed"], 0, "{r}");
    let settled = r["confirmed"].as_u64().unwrap() + r["voided"].as_u64().unwrap();
    assert_eq!(settled as usize, pending, "{r}");
    eprintln!("{pending} pending at the kill: {r}");

    let after = e.ledger(account).await;
    after.assert_billed_exactly_when_stored();
    for (person, id) in &answers.acked {
        assert!(after.persons.contains(person), "{person} ({id})");
        assert_eq!(after.outcomes[id].as_deref(), Some("confirmed"), "{id}");
    }
    // An answered error stored and billed nothing.
    for (person, id) in &answers.refused {
        assert!(!after.persons.contains(person), "{person} ({id})");
        assert_eq!(after.net.get(id).copied().unwrap_or(0), 0, "{id}");
    }

    // The restarted server serves the same gallery and enrols as before.
    let r = client
        .ok("GetPersonListNum", json!({"GroupId": "crash"}))
        .await;
    assert_eq!(
        r["PersonNum"].as_u64(),
        Some(after.persons.len() as u64),
        "{r}"
    );
    let r = client
        .ok(
            "CreatePerson",
            json!({"GroupId": "crash", "PersonId": "late", "PersonName": "late", "Image": image}),
        )
        .await;
    let id = r["RequestId"].as_str().unwrap().to_string();
    server.kill();
    let last = e.ledger(account).await;
    assert!(last.persons.contains("late"));
    assert_eq!(last.net.get(&id), Some(&1));
    assert_eq!(last.outcomes[&id].as_deref(), Some("confirmed"));
    assert_eq!(last.counted as usize, last.persons.len());
    e.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_serve_during_create_person_bills_exactly_what_was_stored_sqlite() {
    crash(Env::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_serve_during_create_person_bills_exactly_what_was_stored_postgres() {
    crash(Env::new(Backend::Postgres).await).await;
}
