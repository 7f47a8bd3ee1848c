//! The HTTP side: `POST /` with the API 3.0 headers in, the `{"Response": …}` envelope
//! out (HTTP 200 for errors too, as the API does), and the metering hook between the
//! action and the response.

use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::action::Action;
use crate::actions::{self, Call};
use crate::auth::{Caller, Service, SignedRequest, V1Request, BILLING_SERVICE, LICENSING_SERVICE};
use crate::error::ApiError;
use crate::state::AppState;

/// The router: every request goes to one handler, whatever its path (the SDKs use `/`).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
/// finish (their metering records are written before their responses, so nothing
/// billable is lost). Connections are limited as the state's config says.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.connections;
    serve_router(listener, router(state), limits, None, shutdown).await
}

/// Serves `app` (the API's router, possibly merged with others such as the console's)
/// under `limits`, over TLS when `tls` is given, with each connection's peer address available to handlers
/// (`ConnectInfo`).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: crate::listener::ConnectionLimits,
    tls: Option<Arc<crate::tls::Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::listener::serve(listener, app, limits, tls, shutdown).await
}

fn envelope(request_id: &str, result: Result<Map<String, Value>, ApiError>) -> Response {
    let mut body = match result {
        Ok(fields) => fields,
        Err(e) => {
            let mut m = Map::new();
            m.insert(
                "Error".into(),
                json!({ "Code": e.code, "Message": e.message }),
            );
            m
        }
    };
    body.insert("RequestId".into(), Value::String(request_id.to_string()));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "Response": body }).to_string(),
    )
        .into_response()
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if is_a_browser_visit(&method, &uri, &headers) {
        return landing_page();
    }
    let request_id = new_request_id();
    let result = answer(&state, &method, &uri, &headers, body, &request_id).await;
    envelope(&request_id, result)
}

/// A fresh RequestId: a UUID of version 7, which starts with the time in milliseconds.
/// A billable call's RequestId is its key in metering's usage index, and keys that arrive in
/// time order land at the end of that index: batched inserts of random (version 4) keys
/// dirty a page per row all over it and ran 2-7 times slower (docs/performance.md,
/// "Metering").
fn new_request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A plain `GET /` with no signature and no query: a person opening the endpoint in a
/// browser, not an API client (signature v1 GETs carry their parameters in the query,
/// TC3 requests an Authorization header).
fn is_a_browser_visit(method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    method == Method::GET
        && uri.path() == "/"
        && uri.query().is_none_or(str::is_empty)
        && headers.get(header::AUTHORIZATION).is_none()
}

/// What a browser sees at the endpoint: what it is and where to read on, instead of an
/// API error envelope.
fn landing_page() -> Response {
    const PAGE: &str = concat!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>Renlian face API</title></head><body>\n",
        "<h1>Renlian 人脸 — face API</h1>\n",
        "<p>This endpoint serves Tencent Cloud's IAI API 3.0 (versions 2020-03-03 and ",
        "2018-03-01): signed <code>POST /</code> requests from the official Tencent Cloud ",
        "SDKs, pointed here with <code>HttpProfile(endpoint=\"HOST:PORT\", ",
        "protocol=\"http\")</code>.</p>\n",
        "<p>People sign in to the web console at <a href=\"/console/\">/console/</a> ",
        "(控制台): usage, bills, resource packs, API keys, person groups. Console users are ",
        "created with <code>renlian console user create --account ID --email E</code>, which ",
        "prints a one-time invite link.</p>\n",
        "<p>Create an account and a key with <code>renlian account create NAME</code> and ",
        "<code>renlian key create --account ID</code>; the actions, fields and errors are ",
        "described in <code>docs/api.md</code> in the Renlian repository.</p>\n",
        "</body></html>\n"
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE,
    )
        .into_response()
}

/// Reads and discards up to `cap` bytes of a body refused for its declared size, for at
/// most two seconds, while the refusal is answered. A client still sending when the server
/// closes the connection gets a reset, often before it reads the answer (the official
/// SDKs then report a broken connection, not RequestSizeLimitExceeded); a refusal that
/// lets a slightly oversized upload finish is read. A body larger than `cap`, or slower,
/// is cut off as before.
fn drain_refused(mut body: Body, cap: u64) {
    use axum::body::HttpBody;
    tokio::spawn(async move {
        let mut read = 0u64;
        let drain = async {
            while read <= cap {
                match std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
                {
                    Some(Ok(frame)) => {
                        read += frame.data_ref().map_or(0, |d| d.len() as u64);
                    }
                    _ => break,
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
    });
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn answer(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let too_large = || {
        ApiError::new(
            "RequestSizeLimitExceeded",
            format!(
                "the request body exceeds {} bytes",
                state.config.max_body_bytes
            ),
        )
    };
    // A declared length over the limit is refused before a byte of it is read.
    let declared = header_str(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.config.max_body_bytes as u64) {
        drain_refused(body, 2 * state.config.max_body_bytes as u64);
        return Err(too_large());
    }
    let read = axum::body::to_bytes(body, state.config.max_body_bytes);
    let body: Bytes = match tokio::time::timeout(state.config.body_read_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return Err(too_large()),
        Err(_) => {
            return Err(ApiError::new(
                "InvalidRequest",
                format!(
                    "the request body did not arrive within {} s",
                    state.config.body_read_timeout.as_secs()
                ),
            ))
        }
    };
    let now = chrono::Utc::now().timestamp();
    // API 3.0 (TC3) carries its signature in the Authorization header; signature v1 in
    // the parameters of a GET query or a form POST.
    if headers.get(header::AUTHORIZATION).is_none() {
        return answer_v1(state, method, uri, headers, &body, request_id, now).await;
    }
    if method != Method::POST && method != Method::GET {
        return Err(ApiError::new(
            "InvalidParameter",
            "TC3-HMAC-SHA256 requests are served as POST with a JSON body, or GET with the parameters in the query",
        ));
    }
    let action =
        header_str(headers, "x-tc-action").ok_or_else(|| ApiError::missing("X-TC-Action"))?;
    let version =
        header_str(headers, "x-tc-version").ok_or_else(|| ApiError::missing("X-TC-Version"))?;
    check_region(state, header_str(headers, "x-tc-region"))?;
    let signed = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers,
        body: &body,
    };
    let caller = state.auth.verify(&signed, now).await?;
    if method == Method::GET {
        // The SDKs' GET carries the action's fields in the signed query, flattened as
        // signature v1 flattens them (`GroupIds.0=a`), every value as text.
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let fields: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let params = unflatten(&fields)?;
        return run_action(state, &caller, action, version, &params, true, request_id).await;
    }
    let content_type = header_str(headers, "content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(ApiError::new(
            "InvalidParameter",
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    let params: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return Err(ApiError::new(
                "InvalidParameter",
                "the body must be a JSON object",
            ))
        }
        Err(e) => {
            return Err(ApiError::new(
                "InvalidParameter",
                format!("malformed JSON body: {e}"),
            ))
        }
    };
    run_action(state, &caller, action, version, &params, false, request_id).await
}

/// The version is checked once the action is known (each service has its own).
fn check_version(action: Action, version: &str) -> Result<(), ApiError> {
    let versions = action.versions();
    if !versions.contains(&version) {
        return Err(ApiError::new(
            "NoSuchVersion",
            format!("version {version:?} does not exist; use one of {versions:?}"),
        ));
    }
    Ok(())
}

fn check_region(state: &AppState, region: Option<&str>) -> Result<(), ApiError> {
    if !state.config.regions.is_empty() {
        let region = region.unwrap_or_default();
        if !state.config.regions.iter().any(|r| r == region) {
            return Err(ApiError::new(
                "UnsupportedRegion",
                format!("region {region:?} is not served here"),
            ));
        }
    }
    Ok(())
}

/// The common parameters of signature v1, which are not action fields.
const V1_COMMON: [&str; 11] = [
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "RequestClient",
    "Token",
    "Language",
];

/// Signature v1: the parameters of a GET query or a form-encoded POST body.
async fn answer_v1(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    now: i64,
) -> Result<Map<String, Value>, ApiError> {
    let raw: &[u8] = if method == Method::GET {
        uri.query().unwrap_or("").as_bytes()
    } else if method == Method::POST {
        let content_type = header_str(headers, "content-type").unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(ApiError::new(
                "AuthFailure.MissingAuthorization",
                "the request is not signed: no Authorization header and no signature-v1 form",
            ));
        }
        body
    } else {
        return Err(ApiError::new(
            "InvalidParameter",
            "signature v1 requests are served as GET or form POST",
        ));
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(raw).into_owned().collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if param("Signature").is_none() {
        return Err(ApiError::new(
            "AuthFailure.MissingAuthorization",
            "the request is not signed",
        ));
    }
    let action = param("Action").ok_or_else(|| ApiError::missing("Action"))?;
    let version = param("Version").ok_or_else(|| ApiError::missing("Version"))?;
    check_region(state, param("Region"))?;
    let host = header_str(headers, "host").unwrap_or_default();
    let v1 = V1Request {
        method: method.as_str(),
        host,
        path: uri.path(),
        params: &params,
    };
    let caller = state.auth.verify_v1(&v1, now).await?;
    let fields: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| !V1_COMMON.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let json = unflatten(&fields)?;
    run_action(state, &caller, action, version, &json, true, request_id).await
}

/// Turns signature v1's flattened fields (`GroupIds.0=a`, `Infos.0.Index=1`) into the
/// JSON object API 3.0 would carry. Values stay strings; the typed readers of a v1 call
/// parse numbers from them.
pub fn unflatten(fields: &[(&str, &str)]) -> Result<Map<String, Value>, ApiError> {
    let mut root = Value::Object(Map::new());
    for (key, value) in fields {
        let mut node = &mut root;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let next_is_index = parts.get(i + 1).is_some_and(|p| p.parse::<usize>().is_ok());
            let fresh = || {
                if last {
                    Value::String((*value).to_string())
                } else if next_is_index {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                }
            };
            let bad = || {
                ApiError::new(
                    "InvalidParameter",
                    format!("malformed parameter name {key:?}"),
                )
            };
            node = match node {
                Value::Object(m) => m.entry(part.to_string()).or_insert_with(fresh),
                Value::Array(items) => {
                    let index: usize = part.parse().map_err(|_| bad())?;
                    // The SDKs number list items from 0 without gaps.
                    if index > items.len() || index > 1000 {
                        return Err(bad());
                    }
                    if index == items.len() {
                        items.push(fresh());
                    }
                    &mut items[index]
                }
                _ => return Err(bad()),
            };
        }
    }
    match root {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::internal("parameter decoding failed")),
    }
}

/// Runs one action for `account` as a signed request would run once authenticated: the
/// same dispatch, checks and metering, with a fresh RequestId (returned with the
/// result). For the web console, whose signed-in users act on their own account without
/// an API key; `secret_id` names the caller in place of a key (e.g. `console:USER`).
pub async fn call_as(
    state: &AppState,
    account: i64,
    secret_id: &str,
    action: &str,
    version: &str,
    params: &Map<String, Value>,
) -> (String, Result<Map<String, Value>, ApiError>) {
    let request_id = new_request_id();
    let caller = Caller {
        account,
        secret_id: secret_id.to_owned(),
        service: None,
    };
    let result = run_action(state, &caller, action, version, params, false, &request_id).await;
    (request_id, result)
}

async fn run_action(
    state: &AppState,
    caller: &Caller,
    action_name: &str,
    version: &str,
    params: &Map<String, Value>,
    lenient: bool,
    request_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    // The action name says which service it belongs to (the two sets are disjoint); a
    // TC3 request must also have been signed for that service.
    let Some(action) = Action::from_name(action_name) else {
        return Err(ApiError::new(
            "InvalidAction",
            format!("action {action_name:?} does not exist"),
        ));
    };
    let service = action.service();
    if let Some(signed_for) = caller.service {
        if signed_for != service {
            return Err(ApiError::new(
                "InvalidAction",
                format!(
                    "action {action_name:?} does not exist in the service this request was signed for; \
                     it belongs to service {:?}",
                    match service {
                        Service::Face => state.config.service.as_str(),
                        Service::Billing => BILLING_SERVICE,
                        Service::Licensing => LICENSING_SERVICE,
                    }
                ),
            ));
        }
    }
    check_version(action, version)?;
    let call = Call {
        state,
        caller,
        action,
        version,
        params,
        lenient,
        request_id,
        admitted: Default::default(),
    };
    let result = actions::dispatch(action, &call).await;
    meter(state, caller, action, request_id, result).await
}

/// Records a billable outcome before it is answered. A failure to record replaces the
/// answer: the client never gets a free result. Actions without an item (the gallery's
/// free actions, the `billing` service) are never metered.
async fn meter(
    state: &AppState,
    caller: &Caller,
    action: Action,
    request_id: &str,
    result: Result<Map<String, Value>, ApiError>,
) -> Result<Map<String, Value>, ApiError> {
    let billable = match &result {
        Ok(_) => true,
        Err(e) => e.is_billable(),
    };
    if !billable {
        return result;
    }
    let Some(item) = action.item() else {
        return result;
    };
    state
        .billing
        .record_call(
            caller.account,
            item,
            action.name(),
            request_id,
            chrono::Utc::now(),
        )
        .await?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unflattens_v1_fields() {
        let m = unflatten(&[
            ("GroupIds.0", "a"),
            ("GroupIds.1", "b"),
            ("Infos.0.Index", "1"),
            ("Infos.0.Text", "x"),
            ("Limit", "5"),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"GroupIds": ["a", "b"], "Infos": [{"Index": "1", "Text": "x"}], "Limit": "5"})
        );
        assert!(unflatten(&[("GroupIds.0", "a"), ("GroupIds.5", "b")]).is_err());
        assert!(unflatten(&[("Limit", "5"), ("Limit.0", "b")]).is_err());
    }
}
