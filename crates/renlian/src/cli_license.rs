//! `renlian license …`: offline-SDK licences, the server side (docs/licensing.md).
//!
//! Purchases are charged through `billing` (an SDK order, a ledger line, a bill line),
//! then carried out by `licence-registry` keyed on the order's id, so a retry with the
//! same `--client-token` charges once and gets the same licence. The issuer key ring
//! lives in the database, sealed with the master key (`RENLIAN_MASTER_KEY`, else
//! `DATA_DIR/master.key`), created on first use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use api::MasterKey;
use billing::{Billing, SdkOrderKind};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use licence_registry::{Issued, LicenceRecord, Registry, RegistryConfig};
use licensing::{
    ActivationRequest, App, CertDigest, DeviceState, DeviceStore, Fingerprint, PackageName,
    PlatformBinding, Status, Subject,
};
use serde::Serialize;
use serde_json::json;

use crate::output::{print, Out};
use crate::{db, GlobalOpts};

#[derive(Subcommand)]
pub enum Command {
    /// Offline-SDK licences: orders, activation, trials, platform licences, revocation.
    #[command(subcommand)]
    License(LicenseCmd),
}

#[derive(Subcommand)]
pub enum LicenseCmd {
    /// Order Q ≥ 50 device seats of one SDK, charged to the account's balance at the
    /// tier Q reaches. Prints {"id", "total", …}.
    Order {
        #[arg(long)]
        sdk: String,
        #[arg(long)]
        devices: u64,
        #[arg(long)]
        account: i64,
        /// Idempotency key (1-64 printable ASCII): a repeat returns the first order and
        /// charges nothing.
        #[arg(long)]
        client_token: Option<String>,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        out: Out,
    },
    /// Issue the licence of a device on a seat of an order (the same device again gets
    /// the same seat and licence).
    Issue {
        #[arg(long)]
        order: i64,
        /// An activation request file (`renlian license request`, or the SDK's), or a
        /// device id string: hashed as the only component of a 1-of-1 fingerprint.
        #[arg(long, value_name = "FINGERPRINT")]
        device: String,
        /// A label for the device (with a device id string).
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// Move a device seat to another device (a bounded number of times a year): the old
    /// device's licence is revoked, the new one has the next generation.
    Move {
        id: String,
        #[arg(long, value_name = "FINGERPRINT")]
        device: String,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// A 30-day trial: up to three devices (`--device`, repeated), or one application
    /// package (`--package`); one trial per account and SDK. With one device or a
    /// package, `--out` is the licence file; with several devices, a directory that gets
    /// one `<licence id>.lic` per device.
    Trial {
        #[arg(long)]
        sdk: String,
        #[arg(long)]
        account: i64,
        #[arg(
            long = "device",
            value_name = "FINGERPRINT",
            conflicts_with = "package"
        )]
        devices: Vec<String>,
        #[arg(long, required_unless_present = "devices")]
        package: Option<String>,
        #[arg(long, requires = "package")]
        cert_sha256: Option<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// Buy a platform licence for one Android application package (and, when given, its
    /// signing certificate's SHA-256), one year (or `--years`), charged.
    Platform {
        #[arg(long)]
        sdk: String,
        #[arg(long)]
        package: String,
        #[arg(long)]
        cert_sha256: Option<String>,
        #[arg(long)]
        account: i64,
        #[arg(long, default_value_t = 1)]
        years: u64,
        #[arg(long)]
        client_token: Option<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// Renew a platform licence for a year from its current end (from now once lapsed),
    /// charged; the renewed file (next generation) goes to `--out`, or later
    /// `license show ID --out FILE`.
    Renew {
        id: String,
        #[arg(long)]
        account: i64,
        #[arg(long)]
        client_token: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// Revoke every generation of a licence: it goes on the next revocation list.
    Revoke {
        id: String,
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// Write the current signed revocation list.
    Revocations {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        json: Out,
    },
    /// The issuer's keys (public halves: what SDK builds trust).
    Keys {
        /// Add a new signing key first; older keys keep verifying.
        #[arg(long)]
        rotate: bool,
        /// Retire a key (by id) first: SDKs should stop trusting it.
        #[arg(long, value_name = "KEY_ID")]
        retire: Option<String>,
        #[command(flatten)]
        json: Out,
    },
    /// An account's licences.
    List {
        #[arg(long)]
        account: i64,
        #[command(flatten)]
        json: Out,
    },
    /// One licence; `--out` writes its file again.
    Show {
        id: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        json: Out,
    },
    /// Verify a licence file as a device would (the issuer's trusted keys, the current
    /// revocation list or `--revocations`): exit 0 only when valid.
    Verify {
        file: PathBuf,
        #[arg(long, value_name = "FINGERPRINT", conflicts_with_all = ["request", "package"])]
        device: Option<String>,
        #[arg(long, conflicts_with = "package")]
        request: Option<PathBuf>,
        #[arg(long)]
        package: Option<String>,
        #[arg(long, requires = "package")]
        cert_sha256: Option<String>,
        /// A revocation list file to check against instead of the database's current one.
        #[arg(long)]
        revocations: Option<PathBuf>,
        /// The device clock (default: now).
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        #[command(flatten)]
        json: Out,
    },
    /// Make an activation request from this machine's fingerprint (offline flow: carry
    /// the file to a connected machine, `renlian license issue --device FILE`).
    Request {
        #[arg(long)]
        sdk: String,
        #[arg(long)]
        label: Option<String>,
        /// The SDK's data directory (device key and state); default DATA_DIR/sdk.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        json: Out,
    },
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time (e.g. 2026-01-31T16:30:00Z): {e}"))
}

fn secs(at: Option<DateTime<Utc>>) -> (DateTime<Utc>, i64) {
    let t = at.unwrap_or_else(Utc::now);
    (t, t.timestamp())
}

fn billing_sdk(s: &str) -> anyhow::Result<billing::Sdk> {
    Ok(s.parse()?)
}

fn licensing_sdk(s: &str) -> anyhow::Result<licensing::Sdk> {
    Ok(s.parse()?)
}

fn rfc3339(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| t.to_string())
}

/// The registry settings: RENLIAN_LICENSE_MOVES_PER_YEAR (default 3). `serve` uses the same.
pub(crate) fn registry_config() -> anyhow::Result<RegistryConfig> {
    let mut config = RegistryConfig::default();
    if let Ok(n) = std::env::var("RENLIAN_LICENSE_MOVES_PER_YEAR") {
        config.moves_per_year = n
            .parse()
            .with_context(|| format!("RENLIAN_LICENSE_MOVES_PER_YEAR={n:?} is not a number"))?;
    }
    Ok(config)
}

/// The registry on the global database, its key ring sealed with the master key.
async fn registry(global: &GlobalOpts, pool: sqlx::AnyPool) -> anyhow::Result<Registry> {
    let master =
        MasterKey::from_env_or_dir(&global.data_dir()).context("loading the master key")?;
    Ok(Registry::open(pool, Arc::new(master), registry_config()?).await?)
}

async fn open(global: &GlobalOpts) -> anyhow::Result<(Billing, Registry)> {
    let pool = db::open(global).await?;
    let billing = Billing::open(pool.clone(), crate::cli_billing::config()?).await?;
    let registry = registry(global, pool).await?;
    Ok((billing, registry))
}

/// `--device`: an activation request file if such a file exists, else a device id.
fn device_request(
    sdk: licensing::Sdk,
    arg: &str,
    label: Option<String>,
) -> anyhow::Result<ActivationRequest> {
    let path = Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading activation request {}", path.display()))?;
        return ActivationRequest::parse(&text)
            .with_context(|| format!("activation request {}", path.display()));
    }
    Ok(ActivationRequest::new(
        sdk,
        Fingerprint::from_device_id(arg),
        label,
    )?)
}

fn binding(package: &str, cert: Option<&str>) -> anyhow::Result<PlatformBinding> {
    Ok(PlatformBinding {
        package: PackageName::new(package)?,
        certificate: cert.map(str::parse::<CertDigest>).transpose()?,
    })
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// What the commands that hand out a licence print (the file goes to `--out`).
#[derive(Serialize)]
struct Handed<'a> {
    #[serde(flatten)]
    record: &'a LicenceRecord,
    created: bool,
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<billing::Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replayed: Option<bool>,
}

fn handed<'a>(issued: &'a Issued, out: Option<&Path>) -> Handed<'a> {
    Handed {
        record: &issued.record,
        created: issued.created,
        expires_at: issued.record.expires.map(rfc3339),
        out: out.map(|p| p.display().to_string()),
        order: None,
        total: None,
        replayed: None,
    }
}

fn describe(r: &LicenceRecord) -> String {
    let bound = match (&r.package, r.seat) {
        (Some(p), _) => format!("package {p}"),
        (None, Some(seat)) => format!("seat {seat} of order {}", r.order.unwrap_or_default()),
        (None, None) => "device".to_string(),
    };
    format!(
        "{} {} {} ({bound}) generation {}{}{}",
        r.id,
        r.kind,
        r.sdk,
        r.generation,
        r.expires
            .map(|e| format!(", expires {}", rfc3339(e)))
            .unwrap_or_else(|| ", permanent".into()),
        if r.revoked.is_some() { ", REVOKED" } else { "" }
    )
}

pub async fn run(cmd: Command, global: &GlobalOpts) -> anyhow::Result<()> {
    let Command::License(cmd) = cmd;
    match cmd {
        LicenseCmd::Order {
            sdk,
            devices,
            account,
            client_token,
            at,
            out,
        } => {
            let (billing, registry) = open(global).await?;
            let (at, now) = secs(at);
            let order = billing
                .order_sdk_devices(
                    account,
                    billing_sdk(&sdk)?,
                    devices,
                    client_token.as_deref(),
                    at,
                )
                .await?;
            registry
                .register_order(order.id, account, licensing_sdk(&sdk)?, devices, now)
                .await?;
            let value = json!({
                "id": order.id,
                "total": order.total,
                "account": order.account,
                "sdk": order.sdk,
                "devices": order.quantity,
                "tier": order.tier,
                "unit_price": order.unit_price,
                "at": order.at.to_rfc3339(),
                "replayed": order.replayed,
            });
            print(out, &value, || {
                format!(
                    "order {}: {} × {} SDK at {} = {} CNY{}",
                    order.id,
                    order.quantity,
                    order.sdk,
                    order.unit_price,
                    order.total,
                    if order.replayed {
                        " (already ordered with this client token; not charged again)"
                    } else {
                        ""
                    }
                )
            })
        }
        LicenseCmd::Issue {
            order,
            device,
            label,
            out,
            at,
            json,
        } => {
            let (billing, registry) = open(global).await?;
            let (_, now) = secs(at);
            let bought = billing
                .sdk_order(order)
                .await?
                .filter(|o| o.kind == SdkOrderKind::Devices)
                .with_context(|| format!("no device order {order}"))?;
            let sdk = licensing_sdk(bought.sdk.as_str())?;
            // Registered when ordered; again here in case that step never ran (a crash
            // between the charge and the registration).
            registry
                .register_order(order, bought.account, sdk, bought.quantity, now)
                .await?;
            let request = device_request(sdk, &device, label)?;
            let issued = registry
                .activate(order, bought.account, &request, now)
                .await?;
            write(&out, &issued.licence)?;
            print(json, &handed(&issued, Some(&out)), || {
                format!(
                    "{}{}",
                    describe(&issued.record),
                    if issued.created {
                        ""
                    } else {
                        " (this device's existing seat)"
                    }
                )
            })
        }
        LicenseCmd::Move {
            id,
            device,
            label,
            out,
            at,
            json,
        } => {
            let (_, registry) = open(global).await?;
            let (_, now) = secs(at);
            let current = registry.licence(&id, now).await?.record;
            let request = device_request(licensing_sdk(&current.sdk)?, &device, label)?;
            let issued = registry
                .move_seat(&id, current.account, &request, now)
                .await?;
            write(&out, &issued.licence)?;
            print(json, &handed(&issued, Some(&out)), || {
                describe(&issued.record)
            })
        }
        LicenseCmd::Trial {
            sdk,
            account,
            devices,
            package,
            cert_sha256,
            out,
            at,
            json,
        } => {
            let (billing, registry) = open(global).await?;
            billing.account(account).await?;
            let (_, now) = secs(at);
            let sdk = licensing_sdk(&sdk)?;
            let issued = match package {
                Some(package) => vec![
                    registry
                        .trial_platform(
                            account,
                            sdk,
                            binding(&package, cert_sha256.as_deref())?,
                            now,
                        )
                        .await?,
                ],
                None => {
                    let requests = devices
                        .iter()
                        .map(|d| device_request(sdk, d, None))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    registry.trial_devices(account, sdk, &requests, now).await?
                }
            };
            let mut shown = Vec::new();
            for i in &issued {
                let path = if issued.len() == 1 {
                    out.clone()
                } else {
                    out.join(format!("{}.lic", i.record.id))
                };
                write(&path, &i.licence)?;
                shown.push(handed(i, Some(&path)));
            }
            print(json, &shown, || {
                issued
                    .iter()
                    .map(|i| describe(&i.record))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        LicenseCmd::Platform {
            sdk,
            package,
            cert_sha256,
            account,
            years,
            client_token,
            out,
            at,
            json,
        } => {
            let (billing, registry) = open(global).await?;
            let (at, now) = secs(at);
            let bind = binding(&package, cert_sha256.as_deref())?;
            let order = billing
                .charge_sdk_platform(
                    account,
                    billing_sdk(&sdk)?,
                    &package,
                    years,
                    client_token.as_deref(),
                    at,
                )
                .await?;
            let issued = registry
                .create_platform(
                    order.id,
                    account,
                    licensing_sdk(&sdk)?,
                    bind,
                    years as i64,
                    now,
                )
                .await?;
            write(&out, &issued.licence)?;
            let mut shown = handed(&issued, Some(&out));
            shown.order = Some(order.id);
            shown.total = Some(order.total);
            shown.replayed = Some(order.replayed);
            print(json, &shown, || {
                format!("{} for {} CNY", describe(&issued.record), order.total)
            })
        }
        LicenseCmd::Renew {
            id,
            account,
            client_token,
            out,
            at,
            json,
        } => {
            let (billing, registry) = open(global).await?;
            let (at, now) = secs(at);
            let current = registry.renewable(&id, account).await?;
            let order = billing
                .charge_sdk_platform(
                    account,
                    billing_sdk(&current.sdk)?,
                    current.package.as_deref().unwrap_or_default(),
                    1,
                    client_token.as_deref(),
                    at,
                )
                .await?;
            let issued = registry
                .renew_platform(&id, account, order.id, 1, now)
                .await?;
            if let Some(path) = &out {
                write(path, &issued.licence)?;
            }
            let mut shown = handed(&issued, out.as_deref());
            shown.order = Some(order.id);
            shown.total = Some(order.total);
            shown.replayed = Some(order.replayed);
            print(json, &shown, || {
                format!("{} for {} CNY", describe(&issued.record), order.total)
            })
        }
        LicenseCmd::Revoke { id, at, json } => {
            let (_, registry) = open(global).await?;
            let (_, now) = secs(at);
            let r = registry.revoke(&id, None, now).await?;
            print(json, &r, || {
                if r.revoked_now {
                    format!(
                        "{} revoked: on revocation list {} and later",
                        r.licence, r.seq
                    )
                } else {
                    format!("{} was already revoked (list {})", r.licence, r.seq)
                }
            })
        }
        LicenseCmd::Revocations { out, json } => {
            let (_, registry) = open(global).await?;
            let (_, signed) = registry.revocation_list(Utc::now().timestamp()).await?;
            write(&out, &signed.list)?;
            let value = json!({
                "seq": signed.seq,
                "issued": rfc3339(signed.issued),
                "entries": signed.entries,
                "out": out.display().to_string(),
            });
            print(json, &value, || {
                format!(
                    "revocation list {} ({} licences) written to {}",
                    signed.seq,
                    signed.entries,
                    out.display()
                )
            })
        }
        LicenseCmd::Keys {
            rotate,
            retire,
            json,
        } => {
            let (_, registry) = open(global).await?;
            let now = Utc::now().timestamp();
            let mut keys = registry.keys(now).await?;
            if let Some(id) = retire {
                keys = registry.retire(&id, now).await?;
            }
            if rotate {
                keys = registry.rotate(now).await?;
            }
            print(json, &keys, || {
                keys.iter()
                    .map(|k| {
                        format!(
                            "{} {} created {}{}{}",
                            k.id,
                            k.public,
                            rfc3339(k.created),
                            k.retired
                                .map(|r| format!(" retired {}", rfc3339(r)))
                                .unwrap_or_default(),
                            if k.current { " (current)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        LicenseCmd::List { account, json } => {
            let (_, registry) = open(global).await?;
            let list = registry.licences(account).await?;
            print(json, &list, || {
                list.iter().map(describe).collect::<Vec<_>>().join("\n")
            })
        }
        LicenseCmd::Show { id, out, json } => {
            let (_, registry) = open(global).await?;
            let issued = registry.licence(&id, Utc::now().timestamp()).await?;
            if let Some(out) = &out {
                write(out, &issued.licence)?;
            }
            print(json, &issued, || describe(&issued.record))
        }
        LicenseCmd::Verify {
            file,
            device,
            request,
            package,
            cert_sha256,
            revocations,
            at,
            json,
        } => {
            let (_, registry) = open(global).await?;
            let (_, now) = secs(at);
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let verifier = registry.ring(now).await?.verifier();
            let list = match revocations {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => registry.revocation_list(now).await?.1.list,
            };
            let mut state = DeviceState::default();
            let list = verifier.open_revocation_list(&list)?;
            state.accept_revocation_list(&list)?;
            let subject = if let Some(d) = device {
                let sdk = verifier.open(&text)?.claims.sdk;
                Subject::device(device_request(sdk, &d, None)?.fingerprint)
            } else if let Some(path) = request {
                let r = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Subject::device(ActivationRequest::parse(&r)?.fingerprint)
            } else if let Some(p) = package {
                let b = binding(&p, cert_sha256.as_deref())?;
                Subject::app(App {
                    package: b.package,
                    certificate: b.certificate,
                })
            } else {
                Subject::default()
            };
            let verified = verifier.verify(
                &text,
                &licensing::Context {
                    now,
                    subject: &subject,
                    features: &[],
                    state: &state,
                },
            )?;
            let claims = verified.claims();
            let (status, days_left) = match verified.status() {
                Status::Valid { days_left } => ("valid", days_left),
                Status::Expiring { days_left } => ("expiring", Some(days_left)),
            };
            let value = json!({
                "valid": true,
                "status": status,
                "days_left": days_left,
                "id": claims.id,
                "kind": claims.kind.as_str(),
                "sdk": claims.sdk.as_str(),
                "account": claims.account,
                "generation": claims.generation,
                "expires": claims.expires.map(rfc3339),
                "revocation_list": list.list().seq,
            });
            print(json, &value, || {
                format!(
                    "valid: {} {} {} generation {}{}",
                    claims.id,
                    claims.kind.as_str(),
                    claims.sdk.as_str(),
                    claims.generation,
                    days_left
                        .map(|d| format!(", {d} days left"))
                        .unwrap_or_else(|| ", permanent".into())
                )
            })
        }
        LicenseCmd::Request {
            sdk,
            label,
            state_dir,
            out,
            json,
        } => {
            let dir = state_dir.unwrap_or_else(|| global.data_dir().join("sdk"));
            let store = DeviceStore::open(&dir)?;
            let fp = Fingerprint::collect_linux(store.device_key());
            let components = fp.len();
            let request = ActivationRequest::new(licensing_sdk(&sdk)?, fp, label)?;
            write(&out, &request.to_text())?;
            let value = json!({
                "sdk": sdk,
                "components": components,
                "state_dir": dir.display().to_string(),
                "out": out.display().to_string(),
            });
            print(json, &value, || {
                format!(
                    "activation request for {sdk} ({components} fingerprint components) written to {}",
                    out.display()
                )
            })
        }
    }
}
