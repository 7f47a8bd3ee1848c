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
        /// Print JSON: {"SecretId", "SecretKey"}.
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

fn print_new(key: &api::NewKey, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({ "SecretId": key.secret_id, "SecretKey": key.secret_key })
        );
    } else {
        println!("SecretId:  {}", key.secret_id);
        println!("SecretKey: {}", key.secret_key);
    }
}

pub async fn run(cmd: Command, global: &GlobalOpts) -> anyhow::Result<()> {
    let Command::Key(cmd) = cmd;
    let pool = db::open(global).await?;
    let keys = open_store(global, pool.clone()).await?;
    match cmd {
        KeyCommand::Create { account, json } => {
            let billing = billing::Billing::open(pool, billing::BillingConfig::default()).await?;
            billing
                .account(account)
                .await
                .with_context(|| format!("account {account}"))?;
            let key = keys.create(account).await?;
            print_new(&key, json);
        }
        KeyCommand::List { account, json } => {
            let list = keys.list(account).await?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                for k in list {
                    let state = if k.enabled { "enabled" } else { "disabled" };
                    println!("{}  account {}  {state}", k.secret_id, k.account);
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
