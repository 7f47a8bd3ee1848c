//! kill -9 while recording usage: every acknowledged record is present exactly once after
//! a restart, and the counters agree with the records.

use crate::billing_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use billing_support::{Backend, Env};
use sqlx::Row;

async fn stored_keys(e: &Env, account: i64) -> (Vec<String>, i64) {
    let pool = e.pool().await;
    let keys: Vec<String> =
        sqlx::query("SELECT usage_key FROM billing_usage WHERE account_id = $1")
            .bind(account)
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get(0).unwrap())
            .collect();
    let counted = billing_support::counted_calls(&pool, account).await;
    pool.close().await;
    (keys, counted)
}

async fn crash(e: Env) {
    let account = e.json(&["account", "create", "crash"])["id"]
        .as_i64()
        .unwrap();
    let ids = account.to_string();
    let mut child = e
        .command()
        .args([
            "usage",
            "load",
            "--account",
            &ids,
            "--item",
            "detect",
            "--concurrency",
            "32",
            "--prefix",
            "crash",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut line = String::new();
    // Read acknowledgements for a while, then kill -9 in the middle of the stream.
    while started.elapsed() < Duration::from_millis(1500) || acked.len() < 200 {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            panic!("usage load stopped by itself after {} records", acked.len());
        }
        acked.push(line.trim_end().to_string());
        assert!(started.elapsed() < Duration::from_secs(60), "too slow");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Whatever it printed before dying was acknowledged too (a torn last line was not).
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut lines: Vec<&str> = rest.split('\n').collect();
    lines.pop();
    acked.extend(lines.iter().map(|s| s.to_string()));

    let (keys, counted) = stored_keys(&e, account).await;
    let stored: HashSet<&String> = keys.iter().collect();
    assert_eq!(stored.len(), keys.len(), "a record stored twice");
    assert_eq!(
        counted as usize,
        keys.len(),
        "counters disagree with records"
    );
    for id in &acked {
        assert!(stored.contains(id), "acknowledged {id} lost");
    }

    // Restart and replay the same ids plus more: old ones are replays, nothing doubles.
    let max = acked
        .iter()
        .filter_map(|id| id.strip_prefix("crash-")?.parse::<u64>().ok())
        .max()
        .unwrap();
    let total = max + 200;
    let out = e
        .command()
        .args([
            "usage",
            "load",
            "--account",
            &ids,
            "--item",
            "detect",
            "--concurrency",
            "8",
            "--prefix",
            "crash",
            "--count",
            &total.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (keys, counted) = stored_keys(&e, account).await;
    let stored: HashSet<&String> = keys.iter().collect();
    assert_eq!(keys.len() as u64, total);
    assert_eq!(stored.len(), keys.len());
    assert_eq!(counted as u64, total);
    e.close().await;
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_record_sqlite() {
    crash(Env::new(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_record_postgres() {
    crash(Env::new(Backend::Postgres).await).await;
}
