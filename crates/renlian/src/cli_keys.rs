//! `renlian key create|list|disable|rotate`: the API keys of billing accounts.
//! SecretKeys are stored encrypted under the master key (`RENLIAN_MASTER_KEY`, else
//! `DATA_DIR/master.key`, generated on first use with mode 0600).

use anyhow::Context;
use api::{KeyStore, MasterKey};
use clap::Subcommand;
use serde_json::json;

use crate::{db, GlobalOpts};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage API keys (SecretId/SecretKey pairs) of accounts.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key for an account; the SecretKey is shown only this once.
    Create {
        /// Billing account id.
        #[arg(long)]
        account: i64,
        /// Make a temporary key that stops working after this long (`90s`, `30m`, `12h`,
        /// `7d`) or at this time (RFC 3339, e.g. `2027-01-31T18:00:00+08:00`). It comes
        /// with a session token that every request must carry (`X-TC-Token`; the SDKs'
        /// `Credential(secret_id, secret_key, token)`), as Tencent Cloud's STS keys do.
        #[arg(long, value_name = "DURATION|TIME")]
        expires: Option<String>,
        /// Print JSON: {"SecretId", "SecretKey"}, with "Token" and "ExpiredTime" (Unix
        /// seconds) for a temporary key.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their SecretKeys).
    List {
        /// Only this account's keys.
        #[arg(long)]
        account: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Disable a key: requests signed with it are refused from then on.
    Disable { secret_id: String },
    /// Create a new key for the same account and disable the old one.
    Rotate {
        secret_id: String,
        #[arg(long)]
        json: bool,
    },
}

/// Opens the key store on the global database with the deployment's master key.
pub async fn open_store(global: &GlobalOpts, pool: sqlx::AnyPool) -> anyhow::Result<KeyStore> {
    let master =
        MasterKey::from_env_or_dir(&global.data_dir()).context("loading the master key")?;
    Ok(KeyStore::open(pool, master).await?)
}

/// When a temporary key given `--expires` stops working, in microseconds since the
/// epoch: a duration from `now_us` (a number and one unit of s, m, h or d) or an RFC 3339
/// time. Hand-written: four units do not justify a dependency.
fn expiry_us(text: &str, now_us: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_micros());
    }
    let unit_secs = match text.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3_600,
        Some('d') => 86_400,
        _ => anyhow::bail!(
            "--expires {text:?}: give a duration such as 30m, 12h or 7d, or an RFC 3339 time"
        ),
    };
    let count: i64 = text[..text.len() - 1]
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| {
            format!("--expires {text:?}: the duration must be a positive whole number and a unit")
        })?;
    count
        .checked_mul(unit_secs * 1_000_000)
        .and_then(|us| us.checked_add(now_us))
        .with_context(|| format!("--expires {text:?} is too far away"))
}

fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| us.to_string())
}

fn print_new(key: &api::NewKey, as_json: bool) {
    if as_json {
        let mut out = json!({ "SecretId": key.secret_id, "SecretKey": key.secret_key });
        if let (Some(token), Some(expires)) = (&key.token, key.expires_us) {
            out["Token"] = json!(token);
            out["ExpiredTime"] = json!(expires / 1_000_000);
        }
        println!("{out}");
    } else {
        println!("SecretId:  {}", key.secret_id);
        println!("SecretKey: {}", key.secret_key);
        if let (Some(token), Some(expires)) = (&key.token, key.expires_us) {
            println!("Token:     {token}");
            println!("Expires:   {}", rfc3339(expires));
        }
    }
}

pub async fn run(cmd: Command, global: &GlobalOpts) -> anyhow::Result<()> {
    let Command::Key(cmd) = cmd;
    let pool = db::open(global).await?;
    let keys = open_store(global, pool.clone()).await?;
    match cmd {
        KeyCommand::Create {
            account,
            expires,
            json,
        } => {
            let billing = billing::Billing::open(pool, billing::BillingConfig::default()).await?;
            billing
                .account(account)
                .await
                .with_context(|| format!("account {account}"))?;
            let key = match expires {
                Some(text) => {
                    let now = chrono::Utc::now().timestamp_micros();
                    keys.create_temporary(account, expiry_us(&text, now)?)
                        .await?
                }
                None => keys.create(account).await?,
            };
            print_new(&key, json);
        }
        KeyCommand::List { account, json } => {
            let list = keys.list(account).await?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                for k in list {
                    let state = if k.enabled { "enabled" } else { "disabled" };
                    match k.expires_us {
                        Some(at) => println!(
                            "{}  account {}  {state}  temporary, expires {}",
                            k.secret_id,
                            k.account,
                            rfc3339(at)
                        ),
                        None => println!("{}  account {}  {state}", k.secret_id, k.account),
                    }
                }
            }
        }
        KeyCommand::Disable { secret_id } => {
            keys.disable(&secret_id)
                .await
                .with_context(|| format!("key {secret_id}"))?;
        }
        KeyCommand::Rotate { secret_id, json } => {
            let key = keys
                .rotate(&secret_id)
                .await
                .with_context(|| format!("key {secret_id}"))?;
            print_new(&key, json);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::expiry_us;

    #[test]
    fn expiry_takes_durations_and_times() {
        let now = 1_700_000_000_000_000;
        assert_eq!(expiry_us("90s", now).unwrap(), now + 90_000_000);
        assert_eq!(expiry_us("30m", now).unwrap(), now + 1_800_000_000);
        assert_eq!(expiry_us("12h", now).unwrap(), now + 43_200_000_000);
        assert_eq!(expiry_us("7d", now).unwrap(), now + 604_800_000_000);
        assert_eq!(
            expiry_us("2027-01-31T18:00:00+08:00", now).unwrap(),
            1_801_389_600_000_000
        );
        for bad in ["", "12", "h", "-3h", "0m", "1.5h", "3w", "99999999999999d"] {
            assert!(expiry_us(bad, now).is_err(), "{bad:?}");
        }
    }
}
