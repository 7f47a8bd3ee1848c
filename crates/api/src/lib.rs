//! The Renlian face API server: Tencent Cloud IAI API 3.0 on the wire, so the official
//! Tencent Cloud SDKs work against a Renlian endpoint.
//!
//! What it is for: the HTTP side of a call — `POST /` with the API 3.0 headers, the
//! `{"Response": …}` envelope, TC3-HMAC-SHA256 authentication against per-account API
//! keys ([`keys`], [`auth`]), the one table of actions ([`action`]: name, service,
//! versions, billing item), dispatch of each action to the `vision` engine and the
//! `gallery` ([`actions`]), the one table mapping every crate's error to its IAI error
//! code ([`error`]), and metering of each billable call through `billing` before its
//! response leaves ([`server`]); enrolments (CreatePerson, CreateFace) are metered around
//! their gallery write by the one enrolment protocol ([`enrolment`]).
//!
//! What it is not for: face computation (`vision`), storage of groups, persons and faces
//! (`gallery`), prices and bills (`billing`), process start-up and the CLI (`renlian`).

pub mod action;
pub mod actions;
pub mod auth;
pub mod enrolment;
pub mod error;
pub mod image;
pub mod keys;
pub mod listener;
pub mod reconcile;
pub mod server;
mod state;
pub mod tls;

pub use action::Action;
pub use error::ApiError;
pub use keys::{KeyError, KeyInfo, KeyStore, MasterKey, NewKey};
pub use listener::ConnectionLimits;
pub use reconcile::{reconcile_enrolments, spawn_reconciler, ReconcileReport};
pub use server::{call_as, router, serve, serve_router};
pub use state::{AppState, Faults, ServerConfig};
