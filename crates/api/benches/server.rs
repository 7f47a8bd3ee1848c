//! The face API server under concurrent load on loopback, against the bare engine in the
//! same run: printed figures, not a timed test.
//!
//! The server runs in-process on 127.0.0.1 (SQLite in a temp dir, rate limit off), with
//! the test harness of `tests/common` (account, API key, TC3 signing). N clients send
//! signed DetectFace requests with a fixture photo scaled to 320 px, then SearchFaces
//! against a group of enrolled faces; the same bytes go through `vision::Engine` on N
//! threads (decode + detect for DetectFace, decode + detect + describe for SearchFaces,
//! the engine work each action does). Overhead = 1 - server req/s ÷ engine req/s.
//!
//! With `--bench` (run the binary built by `cargo test --workspace --bench server
//! --no-run` with `--bench`, or `cargo bench`): BENCH_SECONDS per point (default 10),
//! BENCH_CLIENTS (default 2,8,32), BENCH_GROUP_PERSONS (default 12). Without `--bench`
//! (`cargo test --all-targets`) a smoke run of a few seconds.

#[path = "../tests/it/common.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{b64, code, small_photo, Server};
use serde_json::{json, Value};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Requests completed in a window and their latencies.
struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    n: usize,
}

fn figures(mut times: Vec<Duration>, window: Duration) -> Figures {
    times.sort();
    Figures {
        rps: times.len() as f64 / window.as_secs_f64(),
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        n: times.len(),
    }
}

/// `clients` tasks send `action` with `params` back to back for `window`; every answer
/// must be a success.
async fn load_server(
    server: &Arc<Server>,
    action: &'static str,
    params: &Value,
    clients: usize,
    window: Duration,
) -> Figures {
    let body = params.to_string();
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let server = Arc::clone(server);
            let body = body.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                while start.elapsed() < window {
                    let t = Instant::now();
                    let signed = server.sign(action, &body, &common::Tamper::default());
                    let r = server.send(&signed).await;
                    assert_eq!(code(&r), "", "{action}: {r}");
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    // The window ends when the last request that started in it is answered.
    figures(all, start.elapsed())
}

/// `threads` threads run `work` back to back for `window`.
fn load_engine(threads: usize, window: Duration, work: &(dyn Fn() + Sync)) -> Figures {
    let start = Instant::now();
    let all: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut times = Vec::new();
                    while start.elapsed() < window {
                        let t = Instant::now();
                        work();
                        times.push(t.elapsed());
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("engine thread"))
            .collect()
    });
    figures(all, start.elapsed())
}

fn row(label: &str, clients: usize, f: &Figures) {
    println!(
        "{label:<24} {clients:>3} clients: {:>7.1} req/s  p50 {:>7.1} ms  p99 {:>7.1} ms  ({} requests)",
        f.rps,
        ms(f.p50),
        ms(f.p99),
        f.n
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let window = if bench {
        Duration::from_secs(env_u64("BENCH_SECONDS", 10))
    } else {
        Duration::from_millis(500)
    };
    let clients = if bench {
        env_list("BENCH_CLIENTS", "2,8,32")
    } else {
        vec![2]
    };
    let persons = if bench {
        env_u64("BENCH_GROUP_PERSONS", 12) as usize
    } else {
        3
    };
    if !bench {
        println!("smoke run (run with --bench for the figures)");
    }

    let engine = common::engine();
    let probe = small_photo("obama2.jpg");
    let enrol: Vec<(&str, String)> = ["obama.jpg", "biden.jpg", "obama3.jpg"]
        .into_iter()
        .map(|name| (name, b64(&small_photo(name))))
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let setup = Instant::now();
    let (db, server) = rt.block_on(async {
        let db = common::sqlite().await;
        let server = common::start(&db, common::config()).await;
        let r = server
            .call(
                "CreateGroup",
                json!({"GroupName": "bench", "GroupId": "bench"}),
            )
            .await;
        assert_eq!(code(&r), "", "{r}");
        for i in 0..persons {
            let (name, image) = &enrol[i % enrol.len()];
            let r = server
                .call(
                    "CreatePerson",
                    json!({
                        "GroupId": "bench",
                        "PersonName": name.trim_end_matches(".jpg"),
                        "PersonId": format!("p-{i}"),
                        "Image": image,
                    }),
                )
                .await;
            assert_eq!(code(&r), "", "{r}");
        }
        (db, Arc::new(server))
    });
    println!(
        "setup: {persons} persons enrolled from {} fixture photos in {:.1} s; probe obama2.jpg at 320 px ({} bytes PNG); window {:.1} s per point",
        enrol.len(),
        setup.elapsed().as_secs_f64(),
        probe.len(),
        window.as_secs_f64()
    );

    let detect_params = json!({"Image": b64(&probe)});
    let search_params = json!({"GroupIds": ["bench"], "Image": b64(&probe), "MaxPersonNum": 5});
    // The probe must find its man among the enrolled, or the figures measure nothing.
    let r = rt.block_on(server.call("SearchFaces", search_params.clone()));
    assert_eq!(code(&r), "", "{r}");
    let best = r["Results"][0]["Candidates"][0]["PersonId"]
        .as_str()
        .and_then(|id| id.strip_prefix("p-"))
        .and_then(|i| i.parse::<usize>().ok());
    assert!(
        best.is_some_and(|i| enrol[i % enrol.len()].0.starts_with("obama")),
        "{r}"
    );

    let detect = || {
        let img = engine.decode(&probe).expect("decode");
        assert!(!engine.detect(&img).expect("detect").is_empty());
    };
    let describe = || {
        let img = engine.decode(&probe).expect("decode");
        let faces = engine.detect(&img).expect("detect");
        assert_eq!(
            engine.describe(&img, &faces).expect("describe").len(),
            faces.len()
        );
    };
    // Warm both paths once before timing.
    detect();
    let r = rt.block_on(server.call("DetectFace", detect_params.clone()));
    assert_eq!(code(&r), "", "{r}");

    let actions: [(&'static str, &Value, &(dyn Fn() + Sync), &str); 2] = [
        (
            "DetectFace",
            &detect_params,
            &detect,
            "engine decode+detect",
        ),
        (
            "SearchFaces",
            &search_params,
            &describe,
            "engine detect+describe",
        ),
    ];
    for (action, params, work, engine_label) in actions {
        println!("-- {action}");
        for &n in &clients {
            let s = rt.block_on(load_server(&server, action, params, n, window));
            let e = load_engine(n, window, work);
            row(&format!("server {action}"), n, &s);
            row(engine_label, n, &e);
            println!(
                "{:<24} {n:>3} clients: server overhead {:+.1} % of throughput, {:+.1} ms at p50",
                "",
                (1.0 - s.rps / e.rps) * 100.0,
                ms(s.p50) - ms(e.p50)
            );
        }
    }

    rt.block_on(async {
        match Arc::try_unwrap(server) {
            Ok(server) => server.stop().await,
            Err(_) => panic!("a client still holds the server"),
        }
        db.drop_db().await;
    });
}
