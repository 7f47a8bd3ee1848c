//! Notice delivery through the SMTP and webhook senders, against small servers this test
//! starts on 127.0.0.1: the first webhook attempt fails and is retried after the backoff.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use billing::{Billing, Item, Money, NewAccount, PackSize, Senders, SmtpSender, WebhookSender};
use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A minimal SMTP server: accepts every message and keeps its envelope and data.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mail = Arc::new(Mutex::new(Vec::new()));
    let store = mail.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 localhost ESMTP test\r\n").await.unwrap();
                let mut transcript = String::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    transcript.push_str(&line);
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 localhost\r\n"
                    } else if cmd.starts_with("DATA") {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            transcript.push_str(&line);
                        }
                        store.lock().unwrap().push(transcript.clone());
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mail)
}

/// A minimal HTTP server: answers 500 to the first request, 200 after; keeps the bodies.
async fn webhook_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let store = bodies.clone();
    tokio::spawn(async move {
        let mut served = 0;
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let mut r = BufReader::new(sock);
            let mut len = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).await.unwrap();
            store.lock().unwrap().push(String::from_utf8(body).unwrap());
            let status = if served == 0 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            served += 1;
            let resp =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            r.get_mut().write_all(resp.as_bytes()).await.unwrap();
        }
    });
    (port, bodies)
}

on_both!(
    delivers_by_smtp_and_webhook_with_retry,
    undeliverable_stays_pending,
    delivery_loop_delivers_and_retries
);

async fn low_pack_notice(b: &Billing) -> i64 {
    let a = b
        .create_account(
            NewAccount {
                name: "n".into(),
                email: Some("ops@example.com".into()),
                phone: Some("+8613800000000".into()),
                ..Default::default()
            },
            t("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    b.top_up(a, Money::yuan(450), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.import_usage(a, Item::Detect, 900_000, t("2026-01-02T00:00:00Z"), "x")
        .await
        .unwrap();
    a
}

async fn delivers_by_smtp_and_webhook_with_retry(b: Billing) {
    let a = low_pack_notice(&b).await;
    let (smtp_port, mail) = smtp_server().await;
    let (hook_port, bodies) = webhook_server().await;
    let senders = Senders {
        smtp: Some(
            SmtpSender::new(
                &format!("smtp://127.0.0.1:{smtp_port}"),
                "billing@renlian.test",
            )
            .unwrap(),
        ),
        webhook: Some(WebhookSender::new(&format!("http://127.0.0.1:{hook_port}/sms")).unwrap()),
        first_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(600),
    };
    let now = t("2026-01-02T00:00:10Z");
    let round = b.deliver_notices(&senders, now).await.unwrap();
    assert_eq!((round.attempted, round.delivered, round.failed), (2, 1, 1));
    let mail = mail.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("RCPT TO:<ops@example.com>"), "{}", mail[0]);
    assert!(mail[0].contains("below 15%"), "{}", mail[0]);

    let n = &b.notices(a).await.unwrap()[0];
    let sms = n.deliveries.iter().find(|d| d.channel == "sms").unwrap();
    assert_eq!((sms.state.as_str(), sms.attempts), ("pending", 1));
    assert!(sms.last_error.as_deref().unwrap().contains("500"));
    assert_eq!(
        sms.next_attempt_at,
        Some(now + chrono::Duration::seconds(60))
    );
    let email = n.deliveries.iter().find(|d| d.channel == "email").unwrap();
    assert_eq!(email.state, "delivered");

    // Not due yet: nothing is attempted.
    let round = b
        .deliver_notices(&senders, now + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(round.attempted, 0);
    let round = b
        .deliver_notices(&senders, now + chrono::Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!((round.attempted, round.delivered), (1, 1));
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(body["channel"], "sms");
    assert_eq!(body["target"], "+8613800000000");
    assert_eq!(body["kind"], "pack_low");
    let n = &b.notices(a).await.unwrap()[0];
    assert!(n.deliveries.iter().all(|d| d.state == "delivered"));
    assert_eq!(
        b.deliver_notices(&senders, now + chrono::Duration::days(1))
            .await
            .unwrap()
            .attempted,
        0
    );
}

async fn undeliverable_stays_pending(b: Billing) {
    let a = low_pack_notice(&b).await;
    let senders = Senders::default();
    let now = t("2026-01-02T00:00:10Z");
    let round = b.deliver_notices(&senders, now).await.unwrap();
    assert_eq!((round.attempted, round.failed), (2, 2));
    let later = now + chrono::Duration::hours(5);
    for _ in 0..3 {
        b.deliver_notices(&senders, later).await.unwrap();
    }
    let n = &b.notices(a).await.unwrap()[0];
    let email = n.deliveries.iter().find(|d| d.channel == "email").unwrap();
    assert_eq!(email.state, "pending");
    assert_eq!(email.attempts, 2);
    assert!(email
        .last_error
        .as_deref()
        .unwrap()
        .contains("no SMTP sender"));
    // Backoff doubles from 30 s: after the second failure the next try is 60 s later.
    assert_eq!(
        email.next_attempt_at,
        Some(later + chrono::Duration::seconds(60))
    );
}

/// The background loop alone delivers both channels, retrying the webhook after its failure.
async fn delivery_loop_delivers_and_retries(b: Billing) {
    let a = low_pack_notice(&b).await;
    let (smtp_port, mail) = smtp_server().await;
    let (hook_port, bodies) = webhook_server().await;
    let senders = Senders {
        smtp: Some(
            SmtpSender::new(
                &format!("smtp://127.0.0.1:{smtp_port}"),
                "billing@renlian.test",
            )
            .unwrap(),
        ),
        webhook: Some(WebhookSender::new(&format!("http://127.0.0.1:{hook_port}/sms")).unwrap()),
        first_backoff: Duration::from_millis(300),
        max_backoff: Duration::from_secs(1),
    };
    let task = b.spawn_notice_delivery(senders, Duration::from_millis(100));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let notice = loop {
        let n = b.notices(a).await.unwrap().remove(0);
        if n.deliveries.iter().all(|d| d.state == "delivered") {
            break n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered in 30 s: {:?}",
            n.deliveries
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    task.abort();
    let sms = notice
        .deliveries
        .iter()
        .find(|d| d.channel == "sms")
        .unwrap();
    assert_eq!(sms.attempts, 2, "one failure, then the retry");
    let email = notice
        .deliveries
        .iter()
        .find(|d| d.channel == "email")
        .unwrap();
    assert_eq!(email.attempts, 1);
    assert_eq!(mail.lock().unwrap().len(), 1);
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(body["kind"], "pack_low");
    assert_eq!(body["target"], "+8613800000000");
}
