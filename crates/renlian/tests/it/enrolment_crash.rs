//! kill -9 while enrolling (meter as pending, write to the gallery, confirm) through the
//! CLI's hidden `usage enrol-load`, which runs the server's own protocol
//! (`api::enrolment`) without the image work, so it is killed with many enrolments in
//! flight at every step: after the reconciliation every enrolment is billed exactly when
//! its person was stored, nothing stays pending, and the counters agree with the records.
//! `serve_enrolment_crash.rs` does the same to a live server taking CreatePerson calls.

use crate::billing_support;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use billing_support::{Backend, Env};
use chrono::Datelike;

async fn crash(e: Env) {
    let account = e.json(&["account", "create", "enrol crash"])["id"]
        .as_i64()
        .unwrap();
    let ids = account.to_string();
    let mut child = e
        .command()
        .args([
            "usage",
            "enrol-load",
            "--account",
            &ids,
            "--concurrency",
            "16",
            "--prefix",
            "enrol",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < Duration::from_millis(1500) || acked.len() < 100 {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            panic!(
                "enrol-load stopped by itself after {} enrolments",
                acked.len()
            );
        }
        acked.push(line.trim_end().to_string());
        assert!(started.elapsed() < Duration::from_secs(60), "too slow");
    }
    child.kill().unwrap(); // SIGKILL, with enrolments in flight at every step
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut lines: Vec<&str> = rest.split('\n').collect();
    lines.pop();
    acked.extend(lines.iter().map(|s| s.to_string()));

    let before = e.ledger(account).await;
    let pending = before.outcomes.values().filter(|o| o.is_none()).count();
    // Pending ones count as used until settled.
    assert_eq!(before.counted as usize, before.net.len());
    for id in &acked {
        assert_eq!(before.outcomes[id].as_deref(), Some("confirmed"), "{id}");
        assert!(before.persons.contains(id), "{id}");
    }

    // Within the grace period nothing is settled; with none, everything is.
    let r = e.json(&["usage", "reconcile"]);
    assert_eq!(
        r["confirmed"].as_u64().unwrap() + r["voided"].as_u64().unwrap(),
        0,
        "{r}"
    );
    // `settle` reconciles first: on the 2nd of next month every enrolment is far past the
    // grace period, so the month is settled with none left pending.
    let now = chrono::Utc::now();
    let month = now.format("%Y-%m").to_string();
    let next = now.date_naive().with_day(1).unwrap() + chrono::Months::new(1);
    let at = format!("{}T00:00:00Z", next.with_day(2).unwrap());
    let settle = e.json(&["settle", "--month", &month, "--at", &at]);
    let r = &settle["enrolments"];
    let settled = r["confirmed"].as_u64().unwrap() + r["voided"].as_u64().unwrap();
    assert_eq!(settled as usize, pending, "{settle}");
    assert_eq!(r["failed"], 0, "{settle}");
    eprintln!(
        "{} acknowledged, {} pending at the kill: {r}",
        acked.len(),
        pending
    );

    let after = e.ledger(account).await;
    // Billed exactly when stored, for every RequestId ever metered (RequestId PREFIX-N
    // enrols person PREFIX-N).
    after.assert_billed_exactly_when_stored();
    assert_eq!(after.enrolled, after.persons);
    // A second reconciliation finds nothing.
    let r = e.json(&["usage", "reconcile", "--grace", "0"]);
    assert_eq!(
        r["confirmed"].as_u64().unwrap() + r["voided"].as_u64().unwrap(),
        0,
        "{r}"
    );
    e.close().await;
}

#[tokio::test]
async fn kill_9_while_enrolling_bills_exactly_what_was_stored_sqlite() {
    crash(Env::new(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn kill_9_while_enrolling_bills_exactly_what_was_stored_postgres() {
    crash(Env::new(Backend::Postgres).await).await;
}
