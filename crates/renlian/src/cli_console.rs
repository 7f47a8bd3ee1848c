//! `renlian console user create|invite|list`: the web console's users. A new user gets a
//! one-time invite link that sets the password; the console itself is served by
//! `renlian serve` under `/console/`.

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::output::{print, Out};
use crate::{db, GlobalOpts};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The web console served by `renlian serve` at /console/.
    #[command(subcommand)]
    Console(ConsoleCommand),
}

#[derive(Subcommand, Debug)]
pub enum ConsoleCommand {
    /// Console users (people who sign in to the console).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a console user of a billing account and print its one-time invite link.
    Create {
        /// Billing account the user belongs to.
        #[arg(long)]
        account: i64,
        /// E-mail address the user signs in with.
        #[arg(long)]
        email: String,
        /// An operator sees every account and the operator pages.
        #[arg(long)]
        operator: bool,
        /// The server's address as a browser reaches it, for the link.
        #[arg(long, default_value = "http://127.0.0.1:8600", value_name = "URL")]
        url: String,
        #[command(flatten)]
        out: Out,
    },
    /// A fresh invite link for an existing user (lost link or forgotten password);
    /// earlier links stop working.
    Invite {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "http://127.0.0.1:8600", value_name = "URL")]
        url: String,
        #[command(flatten)]
        out: Out,
    },
    /// List console users.
    List {
        /// Only this account's users.
        #[arg(long)]
        account: Option<i64>,
        #[command(flatten)]
        out: Out,
    },
}

fn invite_link(url: &str, token: &str) -> String {
    format!(
        "{}{}/invite/{token}",
        url.trim_end_matches('/'),
        console::BASE
    )
}

pub async fn run(cmd: Command, global: &GlobalOpts) -> anyhow::Result<()> {
    let Command::Console(ConsoleCommand::User(cmd)) = cmd;
    let pool = db::open(global).await?;
    let users = console::Users::open(pool.clone()).await?;
    match cmd {
        UserCommand::Create {
            account,
            email,
            operator,
            url,
            out,
        } => {
            let billing = billing::Billing::open(pool, billing::BillingConfig::default()).await?;
            billing
                .account(account)
                .await
                .with_context(|| format!("account {account}"))?;
            let (user, token) = users.create(account, &email, operator).await?;
            let link = invite_link(&url, &token);
            print(
                out,
                &json!({ "id": user.id, "account": user.account, "email": user.email,
                         "operator": user.operator, "invite": link }),
                || {
                    format!(
                        "console user {} created; invite (valid 7 days, once):\n{link}",
                        user.email
                    )
                },
            )?;
        }
        UserCommand::Invite { email, url, out } => {
            let email = console::users::normalise_email(&email)?;
            let user = users
                .list(None)
                .await?
                .into_iter()
                .find(|u| u.email == email)
                .with_context(|| format!("no console user {email}"))?;
            let link = invite_link(&url, &users.invite(user.id).await?);
            print(out, &json!({ "email": user.email, "invite": link }), || {
                link.clone()
            })?;
        }
        UserCommand::List { account, out } => {
            let list = users.list(account).await?;
            print(out, &list, || {
                list.iter()
                    .map(|u| {
                        format!(
                            "{}  account {}{}{}",
                            u.email,
                            u.account,
                            if u.operator { "  operator" } else { "" },
                            if u.active { "" } else { "  (invited)" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}
