//! Signing in and out, accepting an invite, and the language switch.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;

use super::{safe_next, see_other, ClientAddress};
use crate::error::ConsoleError;
use crate::i18n::{Lang, LANG_COOKIE};
use crate::render::public_page;
use crate::session::{is_https, session_cookie, Viewer};
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/", get(start))
        .route("/login", get(login_form).post(login))
        .route("/invite/{token}", get(invite_form).post(accept_invite))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/lang", post(set_lang))
}

/// `/console/`: the user's overview, or the sign-in page.
async fn start(viewer: Viewer) -> Response {
    see_other(&format!(
        "{}/a/{}/overview",
        crate::BASE,
        viewer.user().account
    ))
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ConsoleError> {
    public_page(
        &console,
        Lang::of_request(&headers),
        "login.html",
        context! { next => safe_next(q.next.as_deref()), email => "", error => () },
    )
}

#[derive(serde::Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    ClientAddress(address): ClientAddress,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let lang = Lang::of_request(&headers);
    let next = safe_next(form.next.as_deref());
    match console
        .users
        .sign_in(&form.email, &form.password, &address)
        .await
    {
        Ok(user) => {
            let token = console.users.start_session(&user).await?;
            let mut r = see_other(&next);
            r.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(Some(&token), is_https(&headers))
                    .parse()
                    .map_err(|_| ConsoleError::Internal("cookie header".into()))?,
            );
            Ok(r)
        }
        Err(e @ (ConsoleError::BadCredentials | ConsoleError::TooManyAttempts)) => {
            let status = e.status();
            let key = if matches!(e, ConsoleError::TooManyAttempts) {
                "too_many"
            } else {
                "bad_credentials"
            };
            let mut r = public_page(
                &console,
                lang,
                "login.html",
                context! { next => next, email => form.email, error => key },
            )?;
            *r.status_mut() = status;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn invite_form(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ConsoleError> {
    let user = console
        .users
        .invite_user(&token)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    public_page(
        &console,
        Lang::of_request(&headers),
        "invite.html",
        context! { email => user.email, token => token, error => () },
    )
}

#[derive(serde::Deserialize)]
struct InviteForm {
    password: String,
    password2: String,
}

async fn accept_invite(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> Result<Response, ConsoleError> {
    let lang = Lang::of_request(&headers);
    let user = console
        .users
        .invite_user(&token)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let problem = if form.password != form.password2 {
        Some("mismatch")
    } else if crate::password::check_strength(&form.password).is_err() {
        Some("weak")
    } else {
        None
    };
    if let Some(key) = problem {
        let mut r = public_page(
            &console,
            lang,
            "invite.html",
            context! { email => user.email, token => token, error => key },
        )?;
        *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        return Ok(r);
    }
    let user = console.users.accept_invite(&token, &form.password).await?;
    let session = console.users.start_session(&user).await?;
    let mut r = see_other(&format!("{}/", crate::BASE));
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(Some(&session), is_https(&headers))
            .parse()
            .map_err(|_| ConsoleError::Internal("cookie header".into()))?,
    );
    Ok(r)
}

fn signed_out(headers: &HeaderMap) -> Response {
    let mut r = see_other(&format!("{}/login", crate::BASE));
    if let Ok(v) = session_cookie(None, is_https(headers)).parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    viewer: Viewer,
) -> Result<Response, ConsoleError> {
    console.users.end_session(&viewer.session).await?;
    Ok(signed_out(&headers))
}

async fn logout_everywhere(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    viewer: Viewer,
) -> Result<Response, ConsoleError> {
    console.users.end_all_sessions(viewer.user().id).await?;
    Ok(signed_out(&headers))
}

#[derive(serde::Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

async fn set_lang(
    headers: HeaderMap,
    Form(form): Form<LangForm>,
) -> Result<Response, ConsoleError> {
    let lang = Lang::parse(&form.lang)
        .ok_or_else(|| ConsoleError::Invalid(format!("unknown language {:?}", form.lang)))?;
    let mut r = see_other(&safe_next(form.next.as_deref()));
    let secure = if is_https(&headers) { "; Secure" } else { "" };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path={}; Max-Age=31536000; SameSite=Lax{secure}",
        lang.code(),
        crate::BASE
    );
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookie
            .parse()
            .map_err(|_| ConsoleError::Internal("cookie header".into()))?,
    );
    Ok(r.into_response())
}
