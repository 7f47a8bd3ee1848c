//! [`ConsoleError`]: every way a console request fails, and the one place it becomes a
//! response (a page, a redirect to sign in, or a status).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session (or it ended): the browser is sent to sign in, then back to `next`.
    #[error("sign in first")]
    SignInRequired { next: String },
    /// Not there, or not this user's to see: the two look the same on purpose.
    #[error("not found")]
    NotFound,
    /// A write without the session's CSRF token, or from another origin.
    #[error("the form's security token is missing or wrong, or it came from another site")]
    Forbidden,
    #[error("wrong e-mail address or password")]
    BadCredentials,
    #[error("too many failed sign-ins; wait a quarter of an hour")]
    TooManyAttempts,
    #[error(
        "the password must have at least {} characters and no control characters",
        crate::password::MIN_LENGTH
    )]
    WeakPassword,
    /// A form value the page refuses; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("billing: {0}")]
    Billing(#[from] billing::BillingError),
    #[error("gallery: {0}")]
    Gallery(#[from] gallery::GalleryError),
    #[error("keys: {0}")]
    Keys(#[from] api::KeyError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("{0}")]
    Internal(String),
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Forbidden => StatusCode::FORBIDDEN,
            ConsoleError::BadCredentials
            | ConsoleError::WeakPassword
            | ConsoleError::Invalid(_) => StatusCode::BAD_REQUEST,
            ConsoleError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            // Storage failures are the server's; every other refusal of these crates is
            // about what was asked (a balance too low, a name taken, a limit reached).
            ConsoleError::Billing(
                billing::BillingError::Database(_)
                | billing::BillingError::Corrupt(_)
                | billing::BillingError::WriterGone
                | billing::BillingError::Storage(_)
                | billing::BillingError::Delivery(_),
            ) => StatusCode::INTERNAL_SERVER_ERROR,
            ConsoleError::Billing(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Gallery(gallery::GalleryError::Database(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ConsoleError::Gallery(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::SignInRequired { next } = &self {
            let to = format!(
                "{}/login?next={}",
                crate::BASE,
                crate::pages::url_encode(next)
            );
            return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
        }
        let status = self.status();
        let message = if status.is_server_error() {
            // Details go to the log, not to the browser.
            tracing::error!(error = %self, "console request failed");
            "internal error / 内部错误".to_string()
        } else {
            self.to_string()
        };
        let page = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{code} — Renlian console</title><link rel=\"stylesheet\" href=\"{base}/assets/console.css\"></head>\
             <body><main class=\"narrow\"><h1>{code} {reason}</h1><p class=\"error\" role=\"alert\">{msg}</p>\
             <p><a href=\"{base}/\">Renlian console / 控制台</a></p></main></body></html>\n",
            code = status.as_u16(),
            reason = status.canonical_reason().unwrap_or(""),
            msg = escape(&message),
            base = crate::BASE,
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    }
}
