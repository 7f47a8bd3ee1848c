//! Billing commands: `quote`, `account`, `pack`, `usage`, `settle`, `bill`, `notices`.
//!
//! Every command takes `--json`; money is a decimal string with two places, times RFC 3339.

use std::io::Write;
use std::sync::Arc;

use anyhow::{bail, Context};
use billing::quote::{self, Quote};
use billing::{
    Billing, BillingConfig, Item, Money, Month, NewAccount, PackSize, Sdk, Senders, SmtpSender,
    WebhookSender,
};
use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::output::{print, Out};
use crate::{db, GlobalOpts};

#[derive(Subcommand)]
pub enum Command {
    /// List-price quotes (no database needed).
    #[command(subcommand)]
    Quote(QuoteCmd),
    /// Accounts: create, top up, show.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Prepaid resource packs.
    #[command(subcommand)]
    Pack(PackCmd),
    /// Metering records.
    #[command(subcommand)]
    Usage(UsageCmd),
    /// Settle a month for all accounts whose settlement day has come (pending enrolments
    /// older than the grace period are reconciled first, as `usage reconcile` does).
    Settle {
        #[arg(long, value_parser = parse_month)]
        month: Month,
        /// The settlement time (default: now).
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        out: Out,
    },
    /// An account's bill for a month (a month-to-date preview while the month runs).
    Bill {
        #[arg(long)]
        account: i64,
        #[arg(long, value_parser = parse_month)]
        month: Month,
        /// Print the bill lines as CSV.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// Judge whether the month is over at this time (default: now).
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        out: Out,
    },
    /// An account's notices and their delivery state.
    Notices {
        #[arg(long)]
        account: i64,
        /// First attempt the pending deliveries that are due, with the senders configured by
        /// RENLIAN_SMTP_URL + RENLIAN_SMTP_FROM (e-mail) and RENLIAN_NOTICE_WEBHOOK (SMS).
        #[arg(long)]
        deliver: bool,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand)]
pub enum QuoteCmd {
    /// One month of calls, postpaid, the free pack applied.
    Postpaid {
        /// Billable item: detect, landmarks, compare, verify, search, person, liveness.
        #[arg(long, value_parser = parse_item)]
        item: Item,
        /// Calls in the period (a month; a year for prepaid-year).
        #[arg(long)]
        calls: u64,
        #[command(flatten)]
        out: Out,
    },
    /// One month of calls with the given packs bought (their prices included).
    Prepaid {
        /// Billable item: detect, landmarks, compare, verify, search, person, liveness.
        #[arg(long, value_parser = parse_item)]
        item: Item,
        /// Calls in the period (a month; a year for prepaid-year).
        #[arg(long)]
        calls: u64,
        /// A pack bought for the month: 1m, 10m, 50m or 100m (repeat for several).
        #[arg(long = "pack", value_parser = parse_size, required = true)]
        packs: Vec<PackSize>,
        #[command(flatten)]
        out: Out,
    },
    /// The cheapest pack mix for a year's calls, with the postpaid alternative.
    PrepaidYear {
        /// Billable item: detect, landmarks, compare, verify, search, person, liveness.
        #[arg(long, value_parser = parse_item)]
        item: Item,
        /// Calls in the period (a month; a year for prepaid-year).
        #[arg(long)]
        calls: u64,
        #[command(flatten)]
        out: Out,
    },
    /// Offline SDK licences by device (at least 50).
    SdkDevice {
        /// SDK: detect, ir-liveness, 3d-liveness, search, ir-liveness-search, 3d-liveness-search.
        #[arg(long, value_parser = parse_sdk)]
        sdk: Sdk,
        /// Devices in the order (at least 50).
        #[arg(long)]
        devices: u64,
        #[command(flatten)]
        out: Out,
    },
    /// Offline SDK platform licence for one application.
    SdkPlatform {
        /// SDK: detect, ir-liveness, 3d-liveness, search, ir-liveness-search, 3d-liveness-search.
        #[arg(long, value_parser = parse_sdk)]
        sdk: Sdk,
        /// Years of the platform licence.
        #[arg(long, default_value_t = 1)]
        years: u64,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Create an account; prints its id.
    Create {
        name: String,
        /// Billing time zone (IANA name; default Asia/Shanghai or RENLIAN_BILLING_TZ).
        #[arg(long)]
        tz: Option<String>,
        /// E-mail address for notices.
        #[arg(long)]
        email: Option<String>,
        /// Phone number for SMS notices.
        #[arg(long)]
        phone: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Add money to an account (yuan, e.g. 100 or 99.50).
    Topup {
        id: i64,
        #[arg(value_parser = parse_money)]
        amount: Money,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        /// Idempotency key (1-64 printable ASCII characters): a repeat with the same token
        /// adds nothing (JSON `replayed: true`), with another amount it is refused.
        #[arg(long)]
        client_token: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Balance, frozen, available and state.
    Show {
        id: i64,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand)]
pub enum PackCmd {
    /// Buy a pack; its price leaves the balance at once.
    Buy {
        #[arg(long)]
        account: i64,
        #[arg(long, value_parser = parse_item)]
        item: Item,
        #[arg(long, value_parser = parse_size)]
        size: PackSize,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        /// Idempotency key (1-64 printable ASCII): a repeat with the same token returns the
        /// pack the first one bought and charges nothing.
        #[arg(long)]
        client_token: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// An account's packs.
    List {
        #[arg(long)]
        account: i64,
        #[command(flatten)]
        out: Out,
    },
}

#[derive(Subcommand)]
pub enum UsageCmd {
    /// Record N calls at once (idempotent on --import-id; a fresh id when none is given).
    Record {
        #[arg(long)]
        account: i64,
        #[arg(long, value_parser = parse_item)]
        item: Item,
        #[arg(long)]
        calls: u64,
        #[arg(long, value_parser = parse_time)]
        at: DateTime<Utc>,
        #[arg(long)]
        import_id: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Give back a metered call by its RequestId (an enrolment whose write failed or never
    /// happened); idempotent.
    Void {
        request_id: String,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        out: Out,
    },
    /// Settle the enrolments (CreatePerson, CreateFace) left pending longer than the grace
    /// period by a process that died between metering and confirming them: confirmed
    /// where the gallery holds the write, voided where it does not. `serve` runs the same
    /// at start and every minute.
    Reconcile {
        /// Seconds an enrolment may stay pending before it is settled.
        #[arg(long, default_value_t = api::reconcile::DEFAULT_GRACE.as_secs(), value_name = "SECS")]
        grace: u64,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        out: Out,
    },
    /// Enrol persons through CreatePerson's own protocol (`api::enrolment`: meter as
    /// pending, write to the gallery, settle on failure, confirm) from concurrent tasks,
    /// without the image work, printing each RequestId once confirmed; for the crash test
    /// of enrolment billing. Persons go into group `load` (created if missing);
    /// RequestId PREFIX-N enrols person PREFIX-N.
    #[command(hide = true)]
    EnrolLoad {
        #[arg(long)]
        account: i64,
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: u64,
        #[arg(long)]
        prefix: String,
    },
    /// Record single calls as fast as possible from concurrent tasks, printing each
    /// RequestId once it is acknowledged (durable); for load and crash tests.
    #[command(hide = true)]
    Load {
        #[arg(long)]
        account: i64,
        #[arg(long, value_parser = parse_item)]
        item: Item,
        /// Stop after this many calls.
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: u64,
        /// RequestIds are PREFIX-N.
        #[arg(long)]
        prefix: String,
    },
}

fn parse_item(s: &str) -> Result<Item, String> {
    s.parse().map_err(|e: billing::BillingError| e.to_string())
}

fn parse_size(s: &str) -> Result<PackSize, String> {
    s.parse().map_err(|e: billing::BillingError| e.to_string())
}

fn parse_sdk(s: &str) -> Result<Sdk, String> {
    s.parse().map_err(|e: billing::BillingError| e.to_string())
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.parse().map_err(|e: billing::BillingError| e.to_string())
}

fn parse_money(s: &str) -> Result<Money, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an amount in yuan (e.g. 100 or 99.50)"))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time (e.g. 2026-01-31T16:30:00Z): {e}"))
}

fn quote_text(q: &Quote) -> String {
    let mut s = String::new();
    for l in &q.lines {
        s.push_str(&format!(
            "{:<50} {:>14} × {:>10} = {:>14}\n",
            l.description, l.quantity, l.unit_price, l.amount
        ));
    }
    s.push_str(&format!("total {} CNY", q.total));
    if let Some(alt) = &q.postpaid_alternative {
        s.push_str(&format!(
            "\npostpaid alternative over 12 months: {} CNY",
            alt.total
        ));
    }
    s
}

pub(crate) fn config() -> anyhow::Result<BillingConfig> {
    let mut config = BillingConfig::default();
    if let Ok(tz) = std::env::var("RENLIAN_BILLING_TZ") {
        config.default_time_zone = billing::time::parse_tz(&tz)?;
    }
    if let Ok(day) = std::env::var("RENLIAN_SETTLEMENT_DAY") {
        config.settlement_day = day
            .parse()
            .with_context(|| format!("RENLIAN_SETTLEMENT_DAY={day:?} is not a day"))?;
    }
    Ok(config)
}

async fn engine(global: &GlobalOpts) -> anyhow::Result<Billing> {
    let pool = db::open(global).await?;
    Ok(Billing::open(pool, config()?).await?)
}

pub(crate) fn senders() -> anyhow::Result<Senders> {
    let mut senders = Senders::default();
    if let Ok(url) = std::env::var("RENLIAN_SMTP_URL") {
        let from = std::env::var("RENLIAN_SMTP_FROM")
            .context("RENLIAN_SMTP_URL is set but RENLIAN_SMTP_FROM (the sender address) is not")?;
        senders.smtp = Some(SmtpSender::new(&url, &from)?);
    }
    if let Ok(url) = std::env::var("RENLIAN_NOTICE_WEBHOOK") {
        senders.webhook = Some(WebhookSender::new(&url)?);
    }
    Ok(senders)
}

pub async fn run(cmd: Command, global: &GlobalOpts) -> anyhow::Result<()> {
    match cmd {
        Command::Quote(q) => run_quote(q),
        Command::Account(a) => run_account(a, global).await,
        Command::Pack(p) => run_pack(p, global).await,
        Command::Usage(u) => run_usage(u, global).await,
        Command::Settle { month, at, out } => {
            let b = engine(global).await?;
            let at = at.unwrap_or_else(Utc::now);
            // Enrolments a dead process left pending are settled first, so that the bill
            // carries none of them (only ones younger than the grace period can remain).
            let gallery =
                gallery::Gallery::open(b.pool().clone(), gallery::GalleryConfig::default()).await?;
            let enrolments =
                api::reconcile_enrolments(&b, &gallery, api::reconcile::DEFAULT_GRACE, at).await?;
            let bar = crate::progress::items(0, "settling accounts");
            let report = b
                .settle_month_with_progress(month, at, &|done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            let mut value = serde_json::to_value(&report)?;
            value["enrolments"] = serde_json::to_value(&enrolments)?;
            print(out, &value, || {
                format!(
                    "{}: {} settled ({} CNY), {} already settled, {} not yet due, {} in arrears; \
                     pending enrolments first: {} confirmed, {} voided, {} failed",
                    report.month,
                    report.settled,
                    report.total,
                    report.already_settled,
                    report.not_due,
                    report.in_arrears.len(),
                    enrolments.confirmed,
                    enrolments.voided,
                    enrolments.failed
                )
            })
        }
        Command::Bill {
            account,
            month,
            csv,
            at,
            out,
        } => {
            let b = engine(global).await?;
            let bill = b.bill(account, month, at.unwrap_or_else(Utc::now)).await?;
            if csv {
                let mut w = std::io::stdout().lock();
                writeln!(w, "item,calls,free,pack,postpaid,tier,unit_price,amount")?;
                for l in &bill.lines {
                    writeln!(
                        w,
                        "{},{},{},{},{},{},{},{}",
                        l.item, l.calls, l.free, l.pack, l.postpaid, l.tier, l.unit_price, l.amount
                    )?;
                }
                writeln!(w, "total,,,,,,,{}", bill.total)?;
                return Ok(());
            }
            print(out, &bill, || {
                let mut s = format!(
                    "account {} month {} ({}, {:?})\n",
                    bill.account, bill.month, bill.time_zone, bill.status
                );
                for l in &bill.lines {
                    s.push_str(&format!(
                        "{:<10} calls {:>12} free {:>6} pack {:>12} postpaid {:>12} tier {} × {} = {}\n",
                        l.item.as_str(), l.calls, l.free, l.pack, l.postpaid, l.tier, l.unit_price, l.amount
                    ));
                }
                s.push_str(&format!("total {} CNY", bill.total));
                if !bill.pack_purchases.is_empty() {
                    s.push_str(&format!(
                        "\npacks bought this month (already paid): {} CNY",
                        bill.pack_purchases_total
                    ));
                }
                for p in &bill.sdk_purchases {
                    s.push_str(&format!(
                        "\nSDK order {}: {} {} × {}{} = {} CNY (already paid)",
                        p.order,
                        p.sdk,
                        p.kind.as_str(),
                        p.quantity,
                        p.package
                            .as_deref()
                            .map(|p| format!(" ({p})"))
                            .unwrap_or_default(),
                        p.total
                    ));
                }
                s
            })
        }
        Command::Notices {
            account,
            deliver,
            out,
        } => {
            let b = engine(global).await?;
            if deliver {
                let round = b.deliver_notices(&senders()?, Utc::now()).await?;
                if !out.json {
                    eprintln!(
                        "delivery: {} attempted, {} delivered, {} failed",
                        round.attempted, round.delivered, round.failed
                    );
                }
            }
            let notices = b.notices(account).await?;
            print(out, &notices, || {
                if notices.is_empty() {
                    return format!("no notices for account {account}");
                }
                notices
                    .iter()
                    .map(|n| {
                        let states: Vec<String> = n
                            .deliveries
                            .iter()
                            .map(|d| format!("{}:{}", d.channel, d.state))
                            .collect();
                        format!(
                            "{} {} {} [{}]",
                            n.at.to_rfc3339(),
                            n.kind.as_str(),
                            n.message,
                            states.join(" ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

fn run_quote(q: QuoteCmd) -> anyhow::Result<()> {
    let (quote, out) = match q {
        QuoteCmd::Postpaid { item, calls, out } => (quote::postpaid_month(item, calls), out),
        QuoteCmd::Prepaid {
            item,
            calls,
            packs,
            out,
        } => (quote::prepaid_month(item, calls, &packs), out),
        QuoteCmd::PrepaidYear { item, calls, out } => (quote::prepaid_year(item, calls), out),
        QuoteCmd::SdkDevice { sdk, devices, out } => (quote::sdk_device(sdk, devices)?, out),
        QuoteCmd::SdkPlatform { sdk, years, out } => (quote::sdk_platform(sdk, years)?, out),
    };
    print(out, &quote, || quote_text(&quote))
}

async fn run_account(a: AccountCmd, global: &GlobalOpts) -> anyhow::Result<()> {
    let b = engine(global).await?;
    match a {
        AccountCmd::Create {
            name,
            tz,
            email,
            phone,
            out,
        } => {
            let id = b
                .create_account(
                    NewAccount {
                        name,
                        time_zone: tz,
                        email,
                        phone,
                    },
                    Utc::now(),
                )
                .await?;
            print(out, &serde_json::json!({ "id": id }), || id.to_string())
        }
        AccountCmd::Topup {
            id,
            amount,
            at,
            client_token,
            out,
        } => {
            let done = b
                .top_up_with_token(
                    id,
                    amount,
                    at.unwrap_or_else(Utc::now),
                    client_token.as_deref(),
                )
                .await?;
            let view = &done.account;
            print(out, &done, || {
                let again = if done.replayed {
                    " (this ClientToken topped up before: nothing added now)"
                } else {
                    ""
                };
                format!(
                    "account {id}: balance {} available {}{again}",
                    view.balance, view.available
                )
            })
        }
        AccountCmd::Show { id, out } => {
            let view = b.account(id).await?;
            print(out, &view, || {
                format!(
                    "account {} ({}, {}): balance {} frozen {} available {} state {:?}",
                    view.id,
                    view.name,
                    view.time_zone,
                    view.balance,
                    view.frozen,
                    view.available,
                    view.state
                )
            })
        }
    }
}

async fn run_pack(p: PackCmd, global: &GlobalOpts) -> anyhow::Result<()> {
    let b = engine(global).await?;
    match p {
        PackCmd::Buy {
            account,
            item,
            size,
            at,
            client_token,
            out,
        } => {
            let order = b
                .buy_pack_with_token(
                    account,
                    item,
                    size,
                    at.unwrap_or_else(Utc::now),
                    client_token.as_deref(),
                )
                .await?;
            let pack = &order.pack;
            print(out, pack, || {
                format!(
                    "pack {}: {} {} for {} CNY, valid until {}{}",
                    pack.id,
                    pack.item,
                    pack.size,
                    pack.price,
                    pack.expires_at.to_rfc3339(),
                    if order.replayed {
                        " (already bought with this client token; not charged again)"
                    } else {
                        ""
                    }
                )
            })
        }
        PackCmd::List { account, out } => {
            let packs = b.packs(account).await?;
            print(out, &packs, || {
                packs
                    .iter()
                    .map(|p| {
                        format!(
                            "pack {}: {} {} remaining {} expires {}",
                            p.id,
                            p.item,
                            p.size,
                            p.remaining,
                            p.expires_at.to_rfc3339()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

async fn run_usage(u: UsageCmd, global: &GlobalOpts) -> anyhow::Result<()> {
    let b = engine(global).await?;
    match u {
        UsageCmd::Record {
            account,
            item,
            calls,
            at,
            import_id,
            out,
        } => {
            let import_id = import_id.unwrap_or_else(fresh_id);
            let c = b.import_usage(account, item, calls, at, &import_id).await?;
            print(out, &c, || {
                format!(
                    "{} {} calls in {}: {} free, {} pack, {} postpaid{}",
                    c.units,
                    c.item,
                    c.month,
                    c.free,
                    c.pack,
                    c.postpaid,
                    if c.replayed {
                        " (already recorded)"
                    } else {
                        ""
                    }
                )
            })
        }
        UsageCmd::Void {
            request_id,
            at,
            out,
        } => {
            let v = b
                .void_call(&request_id, at.unwrap_or_else(Utc::now))
                .await?;
            print(out, &v, || {
                match &v {
                billing::Voided::Voided(c) => format!(
                    "voided {request_id}: {} {} call in {} given back ({} free, {} pack, {} postpaid)",
                    c.units, c.item, c.month, c.free, c.pack, c.postpaid
                ),
                billing::Voided::AlreadyVoided => format!("{request_id} was already voided"),
                billing::Voided::NotRecorded => format!("no call recorded under {request_id}"),
            }
            })
        }
        UsageCmd::Reconcile { grace, at, out } => {
            let gallery =
                gallery::Gallery::open(b.pool().clone(), gallery::GalleryConfig::default()).await?;
            let r = api::reconcile_enrolments(
                &b,
                &gallery,
                std::time::Duration::from_secs(grace),
                at.unwrap_or_else(Utc::now),
            )
            .await?;
            print(out, &r, || {
                format!(
                    "pending enrolments settled: {} confirmed, {} voided, {} charged (month settled), {} already settled, {} failed",
                    r.confirmed, r.voided, r.charged, r.already, r.failed
                )
            })?;
            if r.failed > 0 {
                bail!(
                    "{} pending enrolments could not be settled (see the log)",
                    r.failed
                );
            }
            Ok(())
        }
        UsageCmd::EnrolLoad {
            account,
            count,
            concurrency,
            prefix,
        } => enrol_load(b, account, count, concurrency, prefix).await,
        UsageCmd::Load {
            account,
            item,
            count,
            concurrency,
            prefix,
        } => load(b, account, item, count, concurrency, prefix).await,
    }
}

fn fresh_id() -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("cli-{nanos}-{}", std::process::id())
}

/// Concurrent enrolments. An id is printed only once its enrolment ran to the end
/// (confirmed), as the server answers a CreatePerson only then.
async fn enrol_load(
    b: Billing,
    account: i64,
    count: u64,
    concurrency: u64,
    prefix: String,
) -> anyhow::Result<()> {
    if concurrency == 0 {
        bail!("concurrency must be at least 1");
    }
    let gallery =
        gallery::Gallery::open(b.pool().clone(), gallery::GalleryConfig::default()).await?;
    let owner = gallery::AccountId::new(account.to_string())?;
    let group = gallery::GroupId::new("load")?;
    match gallery
        .create_group(
            &owner,
            &gallery::NewGroup {
                group_id: group.clone(),
                name: "load".into(),
                tag: String::new(),
                ex_descriptions: Vec::new(),
                face_model_version: gallery::FaceModelVersion::V3,
                descriptor_version: vision::DescriptorVersion::LATEST.number(),
            },
        )
        .await
    {
        Ok(_) | Err(gallery::GalleryError::GroupIdAlreadyExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let dim = gallery::GalleryConfig::default().descriptor_dim;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, printer) = spawn_id_printer();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (b, gallery, owner, group, next, tx, prefix) = (
            b.clone(),
            gallery.clone(),
            owner.clone(),
            group.clone(),
            next.clone(),
            tx.clone(),
            prefix.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let no_faults = api::Faults::default();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                let id = format!("{prefix}-{i}");
                let person = gallery::NewPerson {
                    group_id: group.clone(),
                    person_id: gallery::PersonId::new(id.as_str())?,
                    name: id.clone(),
                    gender: gallery::Gender::Unset,
                    ex_descriptions: Vec::new(),
                    face: Some(gallery::NewFace {
                        descriptor: gallery::Descriptor::new(vec![
                            0.01 + (i % 97) as f32 * 0.001;
                            dim
                        ])?,
                        descriptor_version: vision::DescriptorVersion::LATEST.number(),
                        rect: gallery::FaceRect {
                            x: 0,
                            y: 0,
                            width: 100,
                            height: 100,
                        },
                        thumbnail: None,
                    }),
                };
                // The server's own protocol (meter as pending, write, settle on failure,
                // confirm), as CreatePerson runs it.
                api::enrolment::Enrolment {
                    billing: &b,
                    gallery: &gallery,
                    account,
                    action: api::Action::CreatePerson,
                    request_id: &id,
                    faults: &no_faults,
                }
                .run(|gallery, request_id| gallery.create_person_for(&owner, &person, request_id))
                .await?;
                if tx.send(id).is_err() {
                    return Ok(());
                }
            }
        }));
    }
    drop(tx);
    for t in tasks {
        t.await??;
    }
    printer.await??;
    Ok(())
}

/// A task printing each RequestId sent to it on its own line, flushed at once (the
/// crash tests read them as acknowledgements while the process may be killed).
fn spawn_id_printer() -> (
    tokio::sync::mpsc::UnboundedSender<String>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let printer = tokio::spawn(async move {
        while let Some(id) = rx.recv().await {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{id}")?;
            stdout.flush()?;
        }
        anyhow::Ok(())
    });
    (tx, printer)
}

async fn load(
    b: Billing,
    account: i64,
    item: Item,
    count: u64,
    concurrency: u64,
    prefix: String,
) -> anyhow::Result<()> {
    if concurrency == 0 {
        bail!("concurrency must be at least 1");
    }
    // Recorded under the item's first action in the API's table.
    let action = api::Action::first_billed_as(item)
        .with_context(|| format!("no action is billed as {item}"))?
        .name();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, printer) = spawn_id_printer();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (b, next, tx, prefix) = (b.clone(), next.clone(), tx.clone(), prefix.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                let id = format!("{prefix}-{i}");
                b.record_call(account, item, action, &id, Utc::now())
                    .await?;
                if tx.send(id).is_err() {
                    return Ok(());
                }
            }
        }));
    }
    drop(tx);
    for t in tasks {
        t.await??;
    }
    printer.await??;
    Ok(())
}
