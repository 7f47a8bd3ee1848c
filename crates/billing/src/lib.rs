//! Billing for Renlian: what a face-API call or an offline-SDK order costs, and what each
//! account owes, exactly as the pricing document and `billing.md` decide.
//!
//! - [`catalogue`]: every price, as data, in one place; [`quote`]: list-price quotes.
//! - [`Billing`]: the engine over an `sqlx::AnyPool` (SQLite or PostgreSQL, one code path):
//!   accounts and their money ledger, metering with group commit ([`Billing::record_call`]),
//!   consumption free pack → paid packs → postpaid, resource packs, notices and their
//!   delivery, monthly bills and settlement, arrears; the daily roll-up ([`daily`]) and the
//!   read APIs an operator's console uses ([`Billing::monthly_spend`],
//!   [`Billing::preview_settlement`], [`Billing::metering_health`], [`Billing::accounts`]).
//!
//! Not here: HTTP, authentication, the mapping of [`BillingError`] to API error codes
//! (that is the API crate's one table), offline-SDK licences (the `licensing` and `licence-registry` crates; billing only
//! charges their orders, [`Billing::order_sdk_devices`], [`Billing::charge_sdk_platform`]).

pub mod account;
pub mod catalogue;
pub mod daily;
pub mod engine;
pub mod enrolment;
pub mod error;
pub mod health;
pub mod meter;
pub mod money;
pub mod notice;
pub mod pack;
pub mod quote;
pub mod rating;
pub mod schema;
pub mod sdk;
pub mod settle;
pub mod spend;
pub mod time;

pub use account::{AccountState, AccountView, LedgerLine, NewAccount, TopUp};
pub use catalogue::{Item, PackSize, Sdk, Tier};
pub use daily::DailyUsage;
pub use engine::{Billing, BillingConfig};
pub use enrolment::{EnrolmentOutcome, PendingEnrolment};
pub use error::BillingError;
pub use health::MeteringHealth;
pub use meter::{Consumption, Voided};
pub use money::Money;
pub use notice::{Delivery, DeliveryRound, Notice, NoticeKind, Senders, SmtpSender, WebhookSender};
pub use pack::{Pack, PackOrder};
pub use rating::{Bill, BillLine, BillStatus, PackPurchase, SdkPurchase};
pub use sdk::{SdkOrder, SdkOrderKind};
pub use settle::{PlannedSettlement, SettlementPreview, SettlementReport};
pub use spend::{MonthSpend, SettledMonth};
pub use time::Month;
