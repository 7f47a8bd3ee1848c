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

use crate::actions::{self, Call};
use crate::auth::{Caller, SignedRequest};
use crate::error::ApiError;
use crate::state::{AppState, VERSIONS};

/// The router: every request goes to one handler, whatever its path (the SDKs use `/`).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
/// finish (their metering records are written before their responses, so nothing
/// billable is lost).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = answer(&state, &method, &uri, &headers, body, &request_id).await;
    envelope(&request_id, result)
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
    let body: Bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                "RequestSizeLimitExceeded",
                format!(
                    "the request body exceeds {} bytes",
                    state.config.max_body_bytes
                ),
            )
        })?;
    if method != Method::POST {
        return Err(ApiError::unsupported(
            "only POST with a TC3-HMAC-SHA256 signature is served; signature v1 (GET or form POST) is not supported yet",
        ));
    }
    let action =
        header_str(headers, "x-tc-action").ok_or_else(|| ApiError::missing("X-TC-Action"))?;
    let version =
        header_str(headers, "x-tc-version").ok_or_else(|| ApiError::missing("X-TC-Version"))?;
    if !VERSIONS.contains(&version) {
        return Err(ApiError::new(
            "NoSuchVersion",
            format!("version {version:?} does not exist; use one of {VERSIONS:?}"),
        ));
    }
    if !state.config.regions.is_empty() {
        let region = header_str(headers, "x-tc-region").unwrap_or_default();
        if !state.config.regions.iter().any(|r| r == region) {
            return Err(ApiError::new(
                "UnsupportedRegion",
                format!("region {region:?} is not served here"),
            ));
        }
    }
    let now = chrono::Utc::now().timestamp();
    let signed = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers,
        body: &body,
    };
    let caller = state.auth.verify(&signed, now).await?;
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
    let action_name = actions::canonical_name(action).ok_or_else(|| {
        ApiError::new("InvalidAction", format!("action {action:?} does not exist"))
    })?;
    let call = Call {
        state,
        caller: &caller,
        version,
        params: &params,
    };
    let result = actions::dispatch(action_name, &call).await;
    meter(state, &caller, action_name, request_id, result).await
}

/// Records a billable outcome before it is answered. A failure to record replaces the
/// answer: the client never gets a free result.
async fn meter(
    state: &AppState,
    caller: &Caller,
    action: &str,
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
    let Some(item) = billing::Item::for_action(action) else {
        return result;
    };
    state
        .billing
        .record_call(caller.account, item, action, request_id, chrono::Utc::now())
        .await?;
    result
}
