//! Who is asking: the session cookie, the [`Viewer`] extractor every signed-in page takes,
//! and the guard on every write (same origin, and the session's CSRF token).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ConsoleError;
use crate::i18n::Lang;
use crate::users::{Session, User};
use crate::Console;

pub const SESSION_COOKIE: &str = "renlian_session";

/// Largest form body the guard reads to find the token (uploads are multipart and carry
/// the token in the query instead).
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Served over HTTPS, as far as the request shows (directly or through a proxy that
/// says so): cookies then get `Secure`. A wrong answer here only harms the sender.
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value for a session token (`None` clears it).
pub fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path={}; HttpOnly; SameSite=Lax{secure}",
            crate::BASE
        ),
        None => format!(
            "{SESSION_COOKIE}=; Path={}; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            crate::BASE
        ),
    }
}

/// A signed-in user on a page: the session, the page language, and what its forms need.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Session,
    pub lang: Lang,
    /// The page's own path and query (where the language switch returns to).
    pub path: String,
}

impl Viewer {
    pub fn user(&self) -> &User {
        &self.session.user
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }

    /// The account a page in `/a/{account}/…` may show: the user's own, or any existing
    /// one for an operator. Anything else is "not found", never "forbidden", so ids
    /// cannot be probed.
    pub async fn account(&self, console: &Console, account: i64) -> Result<i64, ConsoleError> {
        let user = self.user();
        if !user.operator && user.account != account {
            return Err(ConsoleError::NotFound);
        }
        match console.app.billing.account(account).await {
            Ok(_) => Ok(account),
            Err(billing::BillingError::UnknownAccount(_)) => Err(ConsoleError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Operator pages: anyone else gets "not found".
    pub fn operator(&self) -> Result<&User, ConsoleError> {
        if self.user().operator {
            Ok(self.user())
        } else {
            Err(ConsoleError::NotFound)
        }
    }
}

async fn session_of(
    console: &Console,
    headers: &HeaderMap,
) -> Result<Option<Session>, ConsoleError> {
    match cookie(headers, SESSION_COOKIE) {
        // Tokens are 64 hex digits; anything else is not worth a query.
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
            console.users.session(t).await
        }
        _ => Ok(None),
    }
}

impl FromRequestParts<Arc<Console>> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of_request(&parts.headers);
        // The write guard has looked the session up already.
        let session = match parts.extensions.get::<Session>() {
            Some(s) => Some(s.clone()),
            None => session_of(console, &parts.headers).await?,
        };
        // The console is nested under BASE, which `nest` strips from the URI: put it
        // back, or `next` (sign-in, the language switch) would name a path outside it.
        let path = page_path(parts.uri.path(), parts.uri.query());
        match session {
            Some(session) => Ok(Viewer {
                session,
                lang,
                path,
            }),
            None => {
                let next = if parts.method == Method::GET {
                    path
                } else {
                    format!("{}/", crate::BASE)
                };
                Err(ConsoleError::SignInRequired { next })
            }
        }
    }
}

/// The page's address to come back to: the console prefix `nest` strips put back, and a
/// CSRF token (an upload form's address carries one) left out, so it never lands in a
/// link, the history or a log.
fn page_path(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "_csrf")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = format!("{}{}", crate::BASE, path);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    out
}

/// The host (and port) an `Origin` or `Referer` URL names.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// A write must come from a page of this site: its `Origin` (or, failing that, its
/// `Referer`) must name the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    from.and_then(url_host)
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// Compares two tokens in time independent of where they first differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn query_token(query: Option<&str>) -> Option<String> {
    form_field(query?.as_bytes(), "_csrf")
}

pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Paths that accept a write without a session (the session does not exist yet); the
/// origin check still applies to them.
fn needs_no_session(path: &str) -> bool {
    let rest = path.strip_prefix(crate::BASE).unwrap_or(path);
    rest == "/login" || rest.starts_with("/invite/") || rest == "/lang"
}

/// The write guard, in front of every console route: GET and HEAD pass; any other
/// method needs the same origin and, once signed in, the session's CSRF token in the
/// `X-CSRF-Token` header, the `_csrf` query parameter (multipart uploads) or the `_csrf`
/// form field.
pub async fn guard_writes(
    State(console): State<Arc<Console>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    if !same_origin(request.headers()) {
        return ConsoleError::Forbidden.into_response();
    }
    if needs_no_session(request.uri().path()) {
        return next.run(request).await;
    }
    let session = match session_of(&console, request.headers()).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return ConsoleError::SignInRequired {
                next: format!("{}/", crate::BASE),
            }
            .into_response()
        }
        Err(e) => return e.into_response(),
    };
    let (mut parts, body) = request.into_parts();
    let mut token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_token(parts.uri.query()));
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let body = if token.is_none() && is_form {
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => return ConsoleError::Invalid("the form is too large".into()).into_response(),
        };
        token = form_field(&bytes, "_csrf");
        Body::from(bytes)
    } else {
        body
    };
    if !token.is_some_and(|t| same_token(&t, &session.csrf)) {
        return ConsoleError::Forbidden.into_response();
    }
    parts.extensions.insert(session);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_must_name_the_host() {
        let ok = headers(&[
            (header::HOST, "127.0.0.1:8600"),
            (header::ORIGIN, "http://127.0.0.1:8600"),
        ]);
        assert!(same_origin(&ok));
        let other = headers(&[
            (header::HOST, "127.0.0.1:8600"),
            (header::ORIGIN, "http://evil.example"),
        ]);
        assert!(!same_origin(&other));
        let port = headers(&[
            (header::HOST, "127.0.0.1:8600"),
            (header::ORIGIN, "http://127.0.0.1:8601"),
        ]);
        assert!(!same_origin(&port));
        let referer = headers(&[
            (header::HOST, "a.test"),
            (header::REFERER, "https://a.test/console/x?y"),
        ]);
        assert!(same_origin(&referer));
        assert!(!same_origin(&headers(&[(header::HOST, "a.test")])));
        let null = headers(&[(header::HOST, "a.test"), (header::ORIGIN, "null")]);
        assert!(!same_origin(&null));
    }

    #[test]
    fn page_paths_keep_the_prefix_and_drop_the_token() {
        assert_eq!(
            page_path("/a/1/usage", Some("month=2026-11")),
            "/console/a/1/usage?month=2026-11"
        );
        assert_eq!(
            page_path("/a/1/groups/g/enrol", Some("_csrf=abc")),
            "/console/a/1/groups/g/enrol"
        );
        assert_eq!(
            page_path("/a/1/x", Some("_csrf=abc&b=2")),
            "/console/a/1/x?b=2"
        );
        assert_eq!(page_path("/", None), "/console/");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = headers(&[(header::COOKIE, "x=1; renlian_session=abc; y=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "z"), None);
    }

    #[test]
    fn session_cookie_attributes() {
        let c = session_cookie(Some("t"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!session_cookie(Some("t"), false).contains("Secure"));
        assert!(session_cookie(None, false).contains("Max-Age=0"));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("abc", "abcd"));
    }
}
