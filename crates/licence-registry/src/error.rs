//! The one error type of the crate.

use licensing::{IssueError, KeyError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no SDK order {0} (order devices with `renlian license order`)")]
    UnknownOrder(i64),
    #[error("order {order} belongs to account {owner}, not {account}")]
    OrderAccount {
        order: i64,
        owner: i64,
        account: i64,
    },
    #[error("order {order} is for SDK {order_sdk}; the activation request asks for {asked}")]
    WrongSdk {
        order: i64,
        order_sdk: String,
        asked: String,
    },
    #[error("order {order} was registered as {stored}, now given as {given}")]
    OrderMismatch {
        order: i64,
        stored: String,
        given: String,
    },
    #[error("all {seats} seats of order {order} are taken: order more devices, or move a seat (`renlian license move`)")]
    SeatsExhausted { order: i64, seats: u64 },
    #[error("licence {licence} has moved {moves} times in the last 365 days, the most allowed; the next move is possible from {next}")]
    MovesExhausted {
        licence: String,
        moves: u32,
        next: String,
    },
    #[error("this device already holds licence {0} of the same order")]
    DeviceHasSeat(String),
    #[error("no licence {0}")]
    UnknownLicence(String),
    #[error("licence {licence} belongs to account {owner}, not {account}")]
    LicenceAccount {
        licence: String,
        owner: i64,
        account: i64,
    },
    #[error("licence {licence} is a {kind} licence; {operation} needs a {needs} licence")]
    WrongKind {
        licence: String,
        kind: String,
        operation: &'static str,
        needs: &'static str,
    },
    #[error("licence {0} is revoked")]
    Revoked(String),
    #[error("account {account} already had its {kind} trial of SDK {sdk}: one trial per account and SDK")]
    TrialTaken {
        account: i64,
        sdk: String,
        kind: String,
    },
    #[error("the device trial of SDK {sdk} for account {account} already binds {max} devices, the most a trial may")]
    TrialDevicesExhausted {
        account: i64,
        sdk: String,
        max: usize,
    },
    #[error("the platform trial of SDK {sdk} for account {account} is bound to package {package}")]
    TrialPackage {
        account: i64,
        sdk: String,
        package: String,
    },
    #[error("the {sdk} trial of account {account} ended at {ended}")]
    TrialOver {
        account: i64,
        sdk: String,
        ended: String,
    },
    #[error("platform order {order} is for {stored}, not {given}")]
    PlatformMismatch {
        order: i64,
        stored: String,
        given: String,
    },
    #[error("order {order} already renewed licence {licence}")]
    RenewalUsed { order: i64, licence: String },
    #[error("a trial needs at least one device")]
    NoDevices,
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error("issuer key ring: {0}")]
    Key(#[from] KeyError),
    #[error("issuer key ring cannot be unsealed: {0} (wrong master key?)")]
    Seal(String),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
