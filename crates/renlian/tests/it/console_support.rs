//! A console visitor over plain HTTP: follows an invite, keeps the session cookie, and
//! posts forms with the page's CSRF token and the site's Origin, as a browser does.
#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::billing_support::Env;

/// An HTTP answer: status, headers, body.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let at = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF field in the page: {}", self.body));
        let rest = &self.body[at + marker.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// One browser: its session cookie, if signed in.
pub struct Visitor {
    http: reqwest::Client,
    pub addr: SocketAddr,
    pub cookie: Option<String>,
}

impl Visitor {
    pub fn new(addr: SocketAddr) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            addr,
            cookie: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn finish(&mut self, r: reqwest::Response) -> Page {
        let status = r.status();
        let headers = r.headers().clone();
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            if let Some(v) = c.strip_prefix("renlian_session=") {
                let v = v.split(';').next().unwrap_or_default();
                self.cookie = (!v.is_empty()).then(|| v.to_string());
            }
        }
        let body = r.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    fn with_cookie(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => rb.header(COOKIE, format!("renlian_session={c}")),
            None => rb,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .with_cookie(self.http.get(self.url(path)))
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    /// A page that must answer 200.
    pub async fn page(&mut self, path: &str) -> Page {
        let p = self.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "GET {path}: {}", p.body);
        p
    }

    /// A form post from a page of this site (Origin set), without adding a token.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let mut rb = self
            .with_cookie(self.http.post(self.url(path)))
            .form(fields);
        if let Some(o) = origin {
            rb = rb.header(ORIGIN, o);
        }
        let r = rb.send().await.unwrap();
        self.finish(r).await
    }

    /// A form post as the page at `from` would send it: its CSRF token, our Origin.
    pub async fn post(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.page(from).await.csrf();
        let mut all = fields.to_vec();
        all.push(("_csrf", &csrf));
        let origin = format!("http://{}", self.addr);
        self.post_raw(path, &all, Some(&origin)).await
    }

    /// Accepts an invite link and is signed in after it.
    pub async fn accept_invite(&mut self, link: &str, password: &str) {
        let path = link
            .split_once(&self.addr.to_string())
            .map(|(_, p)| p.to_string())
            .unwrap_or_else(|| panic!("invite {link} is not for {}", self.addr));
        self.page(&path).await;
        let origin = format!("http://{}", self.addr);
        let done = self
            .post_raw(
                &path,
                &[("password", password), ("password2", password)],
                Some(&origin),
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert!(self.cookie.is_some(), "no session after the invite");
    }
}

/// Creates a console user with the CLI and returns its invite link for this server.
pub fn invite(e: &Env, addr: SocketAddr, account: i64, email: &str, operator: bool) -> String {
    let account = account.to_string();
    let url = format!("http://{addr}");
    let mut args = vec![
        "console",
        "user",
        "create",
        "--account",
        &account,
        "--email",
        email,
        "--url",
        &url,
    ];
    if operator {
        args.push("--operator");
    }
    let v: Value = e.json(&args);
    v["invite"].as_str().unwrap().to_string()
}

/// A billing account made with the CLI; its id.
pub fn account(e: &Env, name: &str) -> i64 {
    e.json(&["account", "create", name])["id"].as_i64().unwrap()
}

/// The password every test console user sets from its invite.
pub const PASSWORD: &str = "correct horse battery";

/// A visitor signed in as a new console user of `account` (made with the CLI).
pub async fn signed_in(
    e: &Env,
    addr: SocketAddr,
    account: i64,
    email: &str,
    operator: bool,
) -> Visitor {
    let mut v = Visitor::new(addr);
    v.accept_invite(&invite(e, addr, account, email, operator), PASSWORD)
        .await;
    v
}

/// A page's text as the browser shows it: the templates escape `/` and the usual five.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text between `start` and the next `end` in `s`.
pub fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in the page: {s}"))
        + start.len();
    let to = s[from..].find(end).unwrap() + from;
    &s[from..to]
}
