//! Authentication of API 3.0 requests: the TC3-HMAC-SHA256 signature exactly as the
//! official SDKs form it, the older signature v1 (HmacSHA1/HmacSHA256 with a Nonce), the
//! ±5 minute clock window, exact replay refusal for v1 inside that window and a per-key
//! request rate limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::keys::{ActiveKey, KeyStore, LAST_USED_EVERY_US};

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW_SECS: i64 = 300;

const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The service a TC3 credential scope names for the account's own billing actions
/// (the face actions are signed for the configured service, `iai`).
pub const BILLING_SERVICE: &str = "billing";

/// The service a TC3 credential scope names for the offline-SDK licensing actions
/// (orders, activation, trials, platform licences, revocation list).
pub const LICENSING_SERVICE: &str = "licensing";

/// Which set of actions a request was signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The face actions (scope service `iai`, or whatever the server is configured with).
    Face,
    /// The account's own billing (scope service `billing`).
    Billing,
    /// The account's offline-SDK licences (scope service `licensing`).
    Licensing,
}

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: i64,
    pub secret_id: String,
    /// The service of the TC3 credential scope; `None` for signature v1, which names no
    /// service (its action name alone decides).
    pub service: Option<Service>,
}

/// The parts of a request the signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The headers with `Host: name:port` as `Host: name` (an IPv6 literal keeps its
/// brackets, as `URL.hostname` gives it); `None` when Host names no port.
fn portless_host(headers: &HeaderMap) -> Option<HeaderMap> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let (name, port) = host.rsplit_once(':')?;
    let bracketed = name.starts_with('[') && name.ends_with(']');
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    if name.contains(':') && !bracketed {
        return None;
    }
    let mut portless = headers.clone();
    portless.insert(
        axum::http::header::HOST,
        axum::http::HeaderValue::from_str(name).ok()?,
    );
    Some(portless)
}

/// The fields of `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    secret_id: &'a str,
    date: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn failure(message: impl Into<String>) -> ApiError {
    ApiError::new("AuthFailure.SignatureFailure", message)
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, ApiError> {
    let invalid = || {
        ApiError::new(
            "AuthFailure.InvalidAuthorization",
            "the Authorization header is not a TC3-HMAC-SHA256 authorization",
        )
    };
    let rest = value.strip_prefix(ALGORITHM).ok_or_else(invalid)?.trim();
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or_else(invalid)?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => return Err(invalid()),
        }
    }
    let credential = credential.ok_or_else(invalid)?;
    let mut scope = credential.split('/');
    let (Some(secret_id), Some(date), Some(service), Some("tc3_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(invalid());
    };
    Ok(Authorization {
        secret_id,
        date,
        service,
        signed_headers: signed_headers.ok_or_else(invalid)?,
        signature: signature.ok_or_else(invalid)?,
    })
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // new_from_slice only fails for key lengths HMAC cannot take; it takes any.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// The TC3 signature (lowercase hex) of a canonical request, as the SDKs compute it.
pub fn tc3_signature(
    secret_key: &str,
    date: &str,
    service: &str,
    timestamp: &str,
    canonical_request: &str,
) -> String {
    let digest = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    let string_to_sign =
        format!("{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}");
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    let k_signing = hmac(&k_service, b"tc3_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// The canonical request of API 3.0: method, URI, query, the signed headers (lowercase
/// names, trimmed values), their names, and the SHA-256 of the payload.
pub fn canonical_request(
    req: &SignedRequest<'_>,
    signed_headers: &str,
    lowercase_values: bool,
) -> Result<String, ApiError> {
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let value = req
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| failure(format!("the signed header {name} is missing")))?;
        // Names are always lowercase; values as sent, or lowercased as the API's signing
        // document shows them ("x-tc-action:describeinstances").
        canonical_headers.push_str(&name.to_ascii_lowercase());
        canonical_headers.push(':');
        if lowercase_values {
            canonical_headers.push_str(&value.trim().to_ascii_lowercase());
        } else {
            canonical_headers.push_str(value.trim());
        }
        canonical_headers.push('\n');
    }
    let unsigned = req
        .headers
        .get("x-tc-content-sha256")
        .is_some_and(|v| v.as_bytes() == b"UNSIGNED-PAYLOAD");
    let payload_hash = if unsigned {
        hex::encode(Sha256::digest(b"UNSIGNED-PAYLOAD"))
    } else if req.method == "GET" {
        hex::encode(Sha256::digest(b""))
    } else {
        hex::encode(Sha256::digest(req.body))
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method, req.path, req.query, canonical_headers, signed_headers, payload_hash
    ))
}

/// Signature v1's string to sign: method, host, path, `?`, then every parameter but
/// `Signature` as `key=value` (raw, not URL-encoded), sorted by key, joined by `&`. The
/// SDKs write `_` in keys as `.`, so this does too.
pub fn v1_string_to_sign(
    method: &str,
    host: &str,
    path: &str,
    params: &[(String, String)],
) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.replace('_', "."), v.as_str()))
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}{host}{path}?{}", query.join("&"))
}

/// Signature v1: base64 of the HMAC of the string to sign under the SecretKey.
pub fn v1_signature(secret_key: &str, method: SignatureMethod, string_to_sign: &str) -> String {
    let mac = match method {
        SignatureMethod::HmacSha1 => {
            let mut m = <HmacSha1 as Mac>::new_from_slice(secret_key.as_bytes())
                .unwrap_or_else(|_| unreachable!());
            m.update(string_to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        SignatureMethod::HmacSha256 => hmac(secret_key.as_bytes(), string_to_sign.as_bytes()),
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// The `SignatureMethod` parameter of signature v1 (HmacSHA1 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    HmacSha1,
    HmacSha256,
}

/// A signature-v1 request: the common parameters are among `params` (Action, Version,
/// Region, Timestamp, Nonce, SecretId, SignatureMethod, Signature).
pub struct V1Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub params: &'a [(String, String)],
}

/// Constant-time equality of two signatures (both are MACs).
fn same_signature(expected: &str, given: &str) -> bool {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(b"compare").unwrap_or_else(|_| unreachable!());
    mac.update(expected.as_bytes());
    mac.verify_slice(&hmac(b"compare", given.as_bytes()))
        .is_ok()
}

/// Remembers the signature-v1 requests (SecretId, Nonce, Timestamp) seen inside the
/// clock window, so that a captured request cannot be sent again. Older ones are refused
/// by the clock check anyway, so they are forgotten.
#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<HashMap<String, i64>>,
}

impl ReplayGuard {
    /// True if `signature` was not seen before (and records it until `expires_at`).
    fn first_use(&self, signature: &str, now: i64, expires_at: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.len() > 4096 {
            seen.retain(|_, exp| *exp >= now);
        }
        if seen.get(signature).is_some_and(|exp| *exp >= now) {
            return false;
        }
        seen.insert(signature.to_string(), expires_at);
        true
    }
}

/// A token bucket per SecretId. Hand-written: a dozen lines under one mutex, where a
/// rate-limiting crate would bring its own clock and key-store abstractions.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, key: &str) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Verifies one request: header syntax, clock, key, signature, replay, rate.
pub struct Authenticator {
    pub keys: KeyStore,
    pub service: String,
    /// Strict signing: a TC3 request must sign `x-tc-action` and its body (no
    /// `UNSIGNED-PAYLOAD`), so a captured request cannot be re-sent as another action or
    /// with another body. Off by default: the official SDKs sign only `content-type` and
    /// `host`.
    pub strict: bool,
    replay: ReplayGuard,
    rate: RateLimiter,
    /// When this node last recorded each key's use: concurrent first calls of a key
    /// write its last use once, not once each (each write takes SQLite's write lock).
    touched: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl Authenticator {
    pub fn new(keys: KeyStore, service: impl Into<String>, per_key_per_second: u32) -> Self {
        Authenticator {
            keys,
            service: service.into(),
            strict: false,
            touched: Default::default(),
            replay: ReplayGuard::default(),
            rate: RateLimiter::new(per_key_per_second),
        }
    }

    pub async fn verify(&self, req: &SignedRequest<'_>, now: i64) -> Result<Caller, ApiError> {
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
        let authorization = header("authorization").ok_or_else(|| {
            ApiError::new(
                "AuthFailure.MissingAuthorization",
                "the request is not signed",
            )
        })?;
        let auth = parse_authorization(authorization)?;
        let timestamp_text =
            header("x-tc-timestamp").ok_or_else(|| ApiError::missing("X-TC-Timestamp"))?;
        let timestamp = checked_timestamp("X-TC-Timestamp", timestamp_text, now)?;
        let date = chrono::DateTime::from_timestamp(timestamp, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        if auth.date != date {
            return Err(failure("the credential date does not match X-TC-Timestamp"));
        }
        // The scope's service is covered by the signature, so whatever the client signed
        // for is verified as signed. A known service also limits the actions the request
        // may run; any other name (the Node.js, Java and PHP SDKs sign for the endpoint's
        // first label: "127" for 127.0.0.1:8600, "localhost:8600") leaves the action to
        // decide, as signature v1 does.
        let service = if auth.service == self.service {
            Some(Service::Face)
        } else if auth.service == BILLING_SERVICE {
            Some(Service::Billing)
        } else if auth.service == LICENSING_SERVICE {
            Some(Service::Licensing)
        } else if auth.service.is_empty() || auth.service.len() > 64 {
            return Err(failure(format!(
                "the credential scope names no usable service: {:?}",
                auth.service
            )));
        } else {
            None
        };
        if !auth
            .signed_headers
            .split(';')
            .any(|h| h.eq_ignore_ascii_case("content-type"))
            || !auth
                .signed_headers
                .split(';')
                .any(|h| h.eq_ignore_ascii_case("host"))
        {
            return Err(failure("SignedHeaders must include content-type and host"));
        }
        if self.strict {
            if !auth
                .signed_headers
                .split(';')
                .any(|h| h.eq_ignore_ascii_case("x-tc-action"))
            {
                return Err(failure(
                    "this server requires strict signing: SignedHeaders must include x-tc-action",
                ));
            }
            if header("x-tc-content-sha256").is_some_and(|v| v == "UNSIGNED-PAYLOAD") {
                return Err(failure(
                    "this server requires strict signing: the body must be signed (no UNSIGNED-PAYLOAD)",
                ));
            }
        }
        let key = self.keys.active(auth.secret_id).await?;
        // Header values as sent, then lowercased as the signing document forms them:
        // SDKs differ (a mixed-case endpoint reaches us as a mixed-case Host), and
        // either form proves the same key signed the same values. The Node.js SDK signs
        // `host` as its endpoint's host name without the port (`URL.hostname`) while it
        // sends `Host: name:port`, so a Host with a port is also tried without it (the
        // headers are copied only then, not for every request).
        let matches = |headers: &HeaderMap, lowercase: bool| -> Result<bool, ApiError> {
            let req = SignedRequest { headers, ..*req };
            let canonical = canonical_request(&req, auth.signed_headers, lowercase)?;
            let expected = tc3_signature(
                &key.secret_key,
                auth.date,
                auth.service,
                timestamp_text,
                &canonical,
            );
            Ok(same_signature(&expected, auth.signature))
        };
        let mut matched = matches(req.headers, false)? || matches(req.headers, true)?;
        if !matched {
            if let Some(headers) = portless_host(req.headers) {
                matched = matches(&headers, false)? || matches(&headers, true)?;
            }
        }
        if !matched {
            return Err(failure("the signature does not match the request"));
        }
        key.admits(header("x-tc-token"), now * 1_000_000)?;
        // No replay refusal for TC3: it has no nonce and one-second timestamps, so two
        // identical legitimate calls in one second carry one signature. The ±5 minute
        // window is the protection, as Tencent Cloud gives it. Signature v1 has a Nonce
        // and gets exact replay refusal (`verify_v1`).
        self.note_use(auth.secret_id, &key);
        self.check_rate(auth.secret_id)?;
        Ok(Caller {
            account: key.account,
            secret_id: auth.secret_id.to_string(),
            service,
        })
    }

    /// Records that `key` authenticated a request (its "last used" time), when the
    /// stored time is over a minute old. The write runs on its own task: the request
    /// neither waits for it nor fails with it, and the time it records is when the
    /// request was verified.
    fn note_use(&self, secret_id: &str, key: &ActiveKey) {
        let now_us = chrono::Utc::now().timestamp_micros();
        if key
            .last_used_us
            .is_some_and(|t| t >= now_us - LAST_USED_EVERY_US)
        {
            return;
        }
        {
            let mut touched = match self.touched.lock() {
                Ok(t) => t,
                Err(poisoned) => poisoned.into_inner(),
            };
            if touched
                .get(secret_id)
                .is_some_and(|t| *t >= now_us - LAST_USED_EVERY_US)
            {
                return;
            }
            touched.insert(secret_id.to_owned(), now_us);
        }
        let keys = self.keys.clone();
        let secret_id = secret_id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = keys.touch(&secret_id, now_us).await {
                tracing::warn!(%secret_id, error = %e, "recording the key's last use failed");
            }
        });
    }

    fn check_rate(&self, secret_id: &str) -> Result<(), ApiError> {
        if self.rate.allow(secret_id) {
            Ok(())
        } else {
            Err(ApiError::new(
                "RequestLimitExceeded",
                "too many requests for this SecretId",
            ))
        }
    }

    /// Verifies a signature-v1 request: clock, key, HMAC, then exact replay refusal on
    /// (SecretId, Nonce, Timestamp) inside the window, then the rate.
    pub async fn verify_v1(&self, req: &V1Request<'_>, now: i64) -> Result<Caller, ApiError> {
        let param = |name: &str| {
            req.params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let secret_id = param("SecretId").ok_or_else(|| ApiError::missing("SecretId"))?;
        let signature = param("Signature").ok_or_else(|| {
            ApiError::new(
                "AuthFailure.MissingAuthorization",
                "the request is not signed",
            )
        })?;
        let nonce = param("Nonce").ok_or_else(|| ApiError::missing("Nonce"))?;
        let timestamp_text = param("Timestamp").ok_or_else(|| ApiError::missing("Timestamp"))?;
        let timestamp = checked_timestamp("Timestamp", timestamp_text, now)?;
        let method = match param("SignatureMethod") {
            None | Some("HmacSHA1") => SignatureMethod::HmacSha1,
            Some("HmacSHA256") => SignatureMethod::HmacSha256,
            Some(other) => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("SignatureMethod must be HmacSHA1 or HmacSHA256, got {other:?}"),
                ))
            }
        };
        let key = self.keys.active(secret_id).await?;
        let to_sign = v1_string_to_sign(req.method, req.host, req.path, req.params);
        let expected = v1_signature(&key.secret_key, method, &to_sign);
        if !same_signature(&expected, signature) {
            return Err(failure("the signature does not match the request"));
        }
        key.admits(param("Token"), now * 1_000_000)?;
        let once = format!("{secret_id}\n{nonce}\n{timestamp}");
        if !self.replay.first_use(&once, now, timestamp + MAX_SKEW_SECS) {
            return Err(failure(
                "this Nonce and Timestamp were already used (replay refused)",
            ));
        }
        self.note_use(secret_id, &key);
        self.check_rate(secret_id)?;
        Ok(Caller {
            account: key.account,
            secret_id: secret_id.to_string(),
            service: None,
        })
    }
}

/// How long a replayed signature is remembered at most.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(2 * MAX_SKEW_SECS as u64);

/// Parses a request's Unix timestamp (`field` names it in the error) and refuses it when it
/// is more than [`MAX_SKEW_SECS`] from `now`: the clock check both signatures share.
fn checked_timestamp(field: &str, text: &str, now: i64) -> Result<i64, ApiError> {
    let timestamp: i64 = text.parse().map_err(|_| {
        ApiError::new(
            "InvalidParameter",
            format!("{field} must be a Unix time in seconds"),
        )
    })?;
    if (now - timestamp).abs() > MAX_SKEW_SECS {
        return Err(ApiError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "the request timestamp {timestamp} is more than {MAX_SKEW_SECS} s from the server time {now}"
            ),
        ));
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sdk_authorization() {
        let a = parse_authorization(
            "TC3-HMAC-SHA256 Credential=AKIDx/2024-05-01/iai/tc3_request, SignedHeaders=content-type;host, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.secret_id, "AKIDx");
        assert_eq!(a.date, "2024-05-01");
        assert_eq!(a.service, "iai");
        assert_eq!(a.signed_headers, "content-type;host");
        assert_eq!(a.signature, "abc");
        assert!(parse_authorization("HMAC Credential=x").is_err());
    }

    #[test]
    fn portless_host_drops_only_a_port() {
        let host = |h: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("host", h.parse().unwrap());
            headers.insert("content-type", "application/json".parse().unwrap());
            portless_host(&headers).map(|p| {
                assert_eq!(p["content-type"], "application/json");
                p["host"].to_str().unwrap().to_string()
            })
        };
        assert_eq!(host("127.0.0.1:8600").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("localhost:8600").as_deref(), Some("localhost"));
        assert_eq!(host("[::1]:8600").as_deref(), Some("[::1]"));
        assert_eq!(host("iai.tencentcloudapi.com"), None);
        assert_eq!(host("[::1]"), None);
        assert_eq!(host("::1"), None);
        assert_eq!(host("host:"), None);
        assert_eq!(host("host:80x"), None);
        assert_eq!(host(":8600"), None);
        assert_eq!(portless_host(&HeaderMap::new()), None);
    }

    /// A vector computed with the official Python SDK's `Sign.sign_tc3` on the same
    /// canonical request.
    #[test]
    fn signature_matches_the_python_sdk() {
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/json\nhost:iai.tencentcloudapi.com\n\ncontent-type;host\n{}",
            hex::encode(Sha256::digest(br#"{"GroupId": "g1"}"#))
        );
        let sig = tc3_signature(
            "SecretKeyExample0123456789abcdef",
            "2023-11-14",
            "iai",
            "1700000000",
            &canonical,
        );
        assert_eq!(
            sig,
            "b0041067a22d27cc46dce48000dbd919ecde0525b6a22b4bbc54229c8896e323"
        );
    }

    /// The string to sign and signatures of the official Python SDK's `Sign.sign` (v1)
    /// for the same parameters.
    #[test]
    fn v1_signature_matches_the_python_sdk() {
        let params: Vec<(String, String)> = [
            ("Action", "GetGroupList"),
            ("Nonce", "11886"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDexample"),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", "1700000000"),
            ("Version", "2020-03-03"),
            ("Limit", "5"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = v1_string_to_sign("GET", "iai.tencentcloudapi.com", "/", &params);
        assert_eq!(
            s,
            "GETiai.tencentcloudapi.com/?Action=GetGroupList&Limit=5&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDexample&SignatureMethod=HmacSHA256&Timestamp=1700000000&Version=2020-03-03"
        );
        assert_eq!(
            v1_signature(
                "SecretKeyExample0123456789abcdef",
                SignatureMethod::HmacSha256,
                &s
            ),
            V1_SHA256
        );
        assert_eq!(
            v1_signature(
                "SecretKeyExample0123456789abcdef",
                SignatureMethod::HmacSha1,
                &s
            ),
            V1_SHA1
        );
    }

    const V1_SHA256: &str = "STesRxjTBmWtFBDEmaZJsNWwPxY+xnSexrkdAp3QCPM=";
    const V1_SHA1: &str = "uzxCIyk1ixdC41wrB0H6rrt/JJY=";

    #[test]
    fn replay_guard_refuses_a_second_use() {
        let g = ReplayGuard::default();
        assert!(g.first_use("s", 100, 400));
        assert!(!g.first_use("s", 200, 500));
        assert!(g.first_use("s", 401, 700));
    }

    #[test]
    fn rate_limiter_refuses_beyond_the_burst() {
        let r = RateLimiter::new(3);
        assert!(r.allow("a"));
        assert!(r.allow("a"));
        assert!(r.allow("a"));
        assert!(!r.allow("a"));
        assert!(r.allow("b"));
    }
}
