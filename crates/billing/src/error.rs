//! The one error type of the crate. The API maps these to IAI error codes in one table;
//! [`BillingError::InArrears`] becomes `ResourceUnavailable.InArrears`.

use crate::money::Money;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("unknown {kind} {name:?} (expected one of: {expected})")]
    UnknownName {
        kind: &'static str,
        name: String,
        expected: String,
    },
    #[error("an order of {quantity} devices is below the minimum order of {minimum} devices")]
    BelowMinimumOrder { quantity: u64, minimum: u64 },
    #[error("{0}")]
    OutOfRange(String),
    #[error("no account with id {0}")]
    UnknownAccount(i64),
    #[error("insufficient available balance: {needed} needed, {available} available")]
    InsufficientBalance { needed: Money, available: Money },
    /// The account is in arrears and the call would be billed postpaid (rule 8).
    #[error("account {account} is in arrears: postpaid calls are refused until it is topped up")]
    InArrears { account: i64 },
    #[error("month {month} of account {account} is already settled; usage for it is refused")]
    MonthClosed { account: i64, month: String },
    #[error("month {month} cannot be settled before {due}")]
    MonthNotOver { month: String, due: String },
    /// A ClientToken that is empty, longer than 64 characters or not printable ASCII.
    #[error("ClientToken {0:?} is invalid: it must be 1 to 64 printable ASCII characters")]
    InvalidClientToken(String),
    /// A ClientToken already used by this account for a top-up of another amount.
    #[error(
        "ClientToken {token:?} was already used for a top-up of {stored} CNY; this one is of \
         {asked} CNY: use a new ClientToken for a new top-up"
    )]
    TopUpTokenConflict {
        token: String,
        stored: String,
        asked: String,
    },
    /// A ClientToken already used by this account for a purchase with other parameters.
    #[error(
        "ClientToken {token:?} was already used for a {stored} pack (pack {pack}); \
         this request asks for a {asked} pack: use a new ClientToken for a new purchase"
    )]
    ClientTokenConflict {
        token: String,
        stored: String,
        asked: String,
        pack: i64,
    },
    /// A ClientToken already used by this account for another SDK purchase.
    #[error(
        "ClientToken {token:?} was already used for SDK order {order} ({stored}); \
         this request asks for {asked}: use a new ClientToken for a new purchase"
    )]
    SdkClientTokenConflict {
        token: String,
        stored: String,
        asked: String,
        order: i64,
    },
    #[error("unknown time zone {0:?}")]
    InvalidTimeZone(String),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("the metering writer has stopped")]
    WriterGone,
    /// The batch this record was part of could not be committed; the record is not stored.
    #[error("metering storage failed: {0}")]
    Storage(String),
    #[error("notice delivery failed: {0}")]
    Delivery(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
