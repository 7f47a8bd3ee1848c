//! The face pages: person groups (list, one group, enrolment by upload, thumbnails) and
//! "try it". Every write and every billed call goes through `api::call_as`, the API's
//! own action path, so the console's calls are checked and metered exactly as a signed
//! request's; reads of the gallery go to `Gallery` directly.

mod figure;
mod group;
mod groups;
mod thumbnails;
mod try_it;
mod upload;

use std::sync::Arc;

use axum::Router;
use serde_json::{Map, Value};

use crate::session::Viewer;
use crate::Console;

/// The API version the console calls.
const VERSION: &str = "2020-03-03";

/// The upload routes' body limit: a 20 MiB zip, or two 5 MB photos, plus the form.
const UPLOAD_BODY_LIMIT: usize = 25 * 1024 * 1024;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .merge(groups::routes())
        .merge(group::routes())
        .merge(thumbnails::routes())
        .merge(try_it::routes())
}

/// One API call's outcome as a page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub action: String,
    pub request_id: String,
    /// The error code and message, when the API refused.
    pub error: Option<ApiFailure>,
    /// Billed as one call of this item (`billing::Item`'s name), if at all.
    pub billed: Option<&'static str>,
    #[serde(skip)]
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiFailure {
    pub code: &'static str,
    pub message: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// The answer as the API's envelope: `{"Response": {…, "RequestId"}}`.
    pub fn envelope(&self) -> Value {
        let mut response = match &self.error {
            None => self.fields.clone(),
            Some(e) => {
                let mut m = Map::new();
                m.insert(
                    "Error".into(),
                    serde_json::json!({ "Code": e.code, "Message": e.message }),
                );
                m
            }
        };
        response.insert("RequestId".into(), Value::String(self.request_id.clone()));
        serde_json::json!({ "Response": response })
    }

    /// "CODE: message", for a page's error line.
    pub fn error_line(&self) -> Option<String> {
        self.error
            .as_ref()
            .map(|e| format!("{}: {}", e.code, e.message))
    }
}

/// Runs `action` for `account` as the signed-in user, through the API's action path
/// (checks, errors and metering exactly as for a signed request). The caller is named
/// `console:USER_ID` where a request would name its SecretId.
pub async fn call(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    action: &str,
    params: Value,
) -> Outcome {
    let params = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let caller = format!("console:{}", viewer.user().id);
    let (request_id, result) =
        api::call_as(&console.app, account, &caller, action, VERSION, &params).await;
    let item = api::Action::from_name(action)
        .and_then(|a| a.item())
        .map(|i| i.as_str());
    match result {
        Ok(fields) => Outcome {
            action: action.to_owned(),
            request_id,
            error: None,
            billed: item,
            fields,
        },
        Err(e) => Outcome {
            action: action.to_owned(),
            request_id,
            billed: item.filter(|_| e.is_billable()),
            error: Some(ApiFailure {
                code: e.code,
                message: e.message,
            }),
            fields: Map::new(),
        },
    }
}

/// An operator's write on an account's pages (enrolling, deleting, trying a call) is
/// recorded in the audit log like any operator write; a customer's own actions are not
/// (the API's records already name them).
pub async fn audit_operator(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    action: &str,
    detail: &str,
) -> Result<(), crate::ConsoleError> {
    let user = viewer.user();
    if user.operator {
        console
            .users
            .audit(user, action, &format!("account {account}"), detail)
            .await?;
    }
    Ok(())
}

/// The gallery's id of a billing account.
pub fn gallery_account(account: i64) -> Result<gallery::AccountId, crate::ConsoleError> {
    Ok(gallery::AccountId::new(account.to_string())?)
}

/// `base64` of a photo, as the API's `Image` field takes it.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
