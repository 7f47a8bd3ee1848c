//! Concurrent activations of one order never exceed its seats: many tasks on SQLite, and
//! on PostgreSQL two registries on separate pools ("two nodes") on one database.

use std::collections::BTreeSet;

use licence_registry::{Registry, RegistryConfig, RegistryError};
use licensing::Sdk;

use crate::support::{device, request, TestDb, T0};

const SEATS: u64 = 10;
const DEVICES: usize = 40;

/// 40 distinct devices and 8 repeats of one device, all at once, spread over `nodes`.
async fn race(nodes: Vec<Registry>) {
    nodes[0]
        .register_order(1, 5, Sdk::Detect, SEATS, T0)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..DEVICES + 8 {
        let reg = nodes[i % nodes.len()].clone();
        let name = if i < DEVICES {
            format!("dev{i}")
        } else {
            "same".to_string()
        };
        tasks.push(tokio::spawn(async move {
            let r = reg
                .activate(1, 5, &request(Sdk::Detect, device(&name)), T0)
                .await;
            (name, r)
        }));
    }
    let mut granted = Vec::new();
    let mut same = BTreeSet::new();
    let mut exhausted = 0;
    for t in tasks {
        let (name, r) = t.await.unwrap();
        match r {
            Ok(issued) => {
                if name == "same" {
                    same.insert(issued.record.id.clone());
                }
                granted.push(issued)
            }
            Err(RegistryError::SeatsExhausted { .. }) => exhausted += 1,
            Err(e) => panic!("activation failed: {e}"),
        }
    }
    let seats: BTreeSet<i64> = granted.iter().filter_map(|g| g.record.seat).collect();
    assert_eq!(seats.len() as u64, SEATS, "every seat taken exactly once");
    assert_eq!(seats, (1..=SEATS as i64).collect());
    // Every grant of the repeated device is the one seat.
    assert!(
        same.len() <= 1,
        "the same device got several seats: {same:?}"
    );
    let created = granted.iter().filter(|g| g.created).count() as u64;
    assert_eq!(created, SEATS);
    assert_eq!(granted.len() + exhausted, DEVICES + 8);
    let used = nodes[1 % nodes.len()]
        .order_seats(1)
        .await
        .unwrap()
        .unwrap()
        .used;
    assert_eq!(used, SEATS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seats_hold_sqlite() {
    let db = TestDb::sqlite().await;
    let reg = db.registry(RegistryConfig::default()).await;
    race(vec![reg.clone(), reg]).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seats_hold_postgres_two_nodes() {
    let db = TestDb::postgres().await;
    let a = db.registry(RegistryConfig::default()).await;
    let b = db.registry(RegistryConfig::default()).await;
    race(vec![a, b]).await;
    db.close().await;
}
