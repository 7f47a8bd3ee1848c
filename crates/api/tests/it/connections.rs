//! Connection limits: idle and slow clients cannot hold the server, a declared body over
//! the limit is refused before it is read, a chunked one once it passes the limit (the
//! client still reads the refusal), and a body that trickles in is cut off.

use std::time::{Duration, Instant};

use api::{ConnectionLimits, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common;

fn tight() -> ServerConfig {
    ServerConfig {
        connections: ConnectionLimits {
            max_connections: 8,
            header_read_timeout: Duration::from_secs(1),
        },
        body_read_timeout: Duration::from_secs(1),
        ..common::config()
    }
}

/// Reads until the server closes the connection or `limit` passes; the bytes and
/// whether it closed.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slow_clients_do_not_starve_signed_requests() {
    let db = common::sqlite().await;
    let s = common::start(&db, tight()).await;
    // Three times the cap in idle connections, and some that send half a request.
    let mut idle = Vec::new();
    for i in 0..24 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        if i % 3 == 0 {
            c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        idle.push(c);
    }
    // A signed request still gets through, once the header deadline has cleared the idle
    // ones (1 s per wave of 8).
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        s.call("GetGroupList", serde_json::json!({})),
    )
    .await
    .expect("a signed request waited more than 10 s behind idle connections");
    assert_eq!(common::code(&r), "", "{r}");
    eprintln!(
        "signed request answered after {:?} behind 24 idle connections",
        started.elapsed()
    );
    // Every idle connection was closed by the server.
    for c in &mut idle {
        let (_, closed) = read_until_closed(c, Duration::from_secs(6)).await;
        assert!(closed, "an idle connection was left open");
    }
    // A keep-alive connection idle after its request is closed too.
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (page, closed) = read_until_closed(&mut c, Duration::from_secs(4)).await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(closed, "an idle keep-alive connection was left open");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    let db = common::sqlite().await;
    let s = common::start(&db, tight()).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Authorization: TC3-HMAC-SHA256 Credential=x/2026-01-01/iai/tc3_request, SignedHeaders=host, Signature=x\r\n\
                X-TC-Action: DetectFace\r\nX-TC-Version: 2020-03-03\r\nX-TC-Timestamp: 1\r\n\
                Content-Length: 10737418240\r\n\r\n";
    c.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf))
        .await
        .expect("no answer without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.contains("RequestSizeLimitExceeded"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_that_trickles_in_is_cut_off() {
    let db = common::sqlite().await;
    let s = common::start(&db, tight()).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Authorization: TC3-HMAC-SHA256 Credential=x/2026-01-01/iai/tc3_request, SignedHeaders=host, Signature=x\r\n\
                X-TC-Action: DetectFace\r\nX-TC-Version: 2020-03-03\r\nX-TC-Timestamp: 1\r\n\
                Content-Length: 1000\r\n\r\n{\"Image\":";
    c.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut c, Duration::from_secs(4)).await;
    assert!(answer.contains("InvalidRequest"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    s.stop().await;
}

fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a server certificate for 127.0.0.1 it signed, made by the openssl
/// command: (CA cert, server cert, server key), PEM.
fn certificates(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let p = |f: &str| dir.join(format!("{name}-{f}"));
    let s = |f: &str| p(f).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=renlian test CA"];
    ca.extend(ec);
    let (ca_key, ca_crt) = (s("ca.key"), s("ca.crt"));
    ca.extend(["-keyout", &ca_key, "-out", &ca_crt]);
    openssl(&ca);
    let mut req = vec!["req", "-new", "-subj", "/CN=127.0.0.1"];
    req.extend(ec);
    let (key, csr, crt, ext) = (s("server.key"), s("server.csr"), s("server.crt"), s("ext"));
    req.extend(["-keyout", &key, "-out", &csr]);
    openssl(&req);
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_crt,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &ext,
        "-out",
        &crt,
    ]);
    (p("ca.crt"), p("server.crt"), p("server.key"))
}

/// A client that trusts only the CA `cert`, on fresh connections.
fn trusting(cert: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(cert).unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_serves_and_picks_up_a_renewed_certificate() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path(), "first");
    let files = api::tls::TlsFiles {
        cert: dir.path().join("live.crt"),
        key: dir.path().join("live.key"),
    };
    std::fs::copy(&cert, &files.cert).unwrap();
    std::fs::copy(&key, &files.key).unwrap();
    let tls = std::sync::Arc::new(api::tls::Tls::load(files.clone()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve_router(
        listener,
        api::router(s.state.clone()),
        ConnectionLimits::default(),
        Some(tls),
        async move {
            let _ = stopped.await;
        },
    ));
    let url = format!("https://{addr}/");
    let page = trusting(&ca).get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("IAI API 3.0"));
    // Plain HTTP on the TLS port gets no page.
    assert!(reqwest::get(format!("http://{addr}/")).await.is_err());

    // Renew: new files in place; the next connection is served with the new certificate.
    let (ca2, cert2, key2) = certificates(dir.path(), "second");
    std::fs::copy(&cert2, &files.cert).unwrap();
    std::fs::copy(&key2, &files.key).unwrap();
    let page = trusting(&ca2).get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        trusting(&ca).get(&url).send().await.is_err(),
        "the old certificate is still served"
    );
    // A broken renewal keeps the working certificate.
    std::fs::write(&files.cert, b"not a certificate").unwrap();
    assert_eq!(trusting(&ca2).get(&url).send().await.unwrap().status(), 200);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chunked_body_over_the_limit_is_refused_and_the_refusal_is_read() {
    let db = common::sqlite().await;
    let config = tight();
    let over = config.max_body_bytes + 8 * 1024 * 1024;
    let s = common::start(&db, config).await;
    // No declared length: the server finds the body too large while reading it and
    // answers while the client is still sending 8 MiB more; the client must read the
    // refusal, not a reset. Five tries: a reset would be intermittent.
    for i in 0..5 {
        let c = TcpStream::connect(s.addr).await.unwrap();
        let (mut rd, mut wr) = c.into_split();
        let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                    X-TC-Action: DetectFace\r\nX-TC-Version: 2020-03-03\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        let upload = tokio::spawn(async move {
            wr.write_all(head.as_bytes()).await?;
            let chunk = vec![b'A'; 64 * 1024];
            let mut sent = 0;
            while sent < over {
                wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                wr.write_all(&chunk).await?;
                wr.write_all(b"\r\n").await?;
                sent += chunk.len();
            }
            wr.write_all(b"0\r\n\r\n").await
        });
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), rd.read_to_end(&mut got))
            .await
            .unwrap_or_else(|_| panic!("try {i}: the connection stayed open"));
        let answer = String::from_utf8_lossy(&got);
        assert!(read.is_ok(), "try {i}: {read:?} after {answer:?}");
        assert!(
            answer.contains("RequestSizeLimitExceeded"),
            "try {i}: {answer}"
        );
        let _ = upload.await;
    }
    s.stop().await;
}
