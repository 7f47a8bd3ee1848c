//! `renlian`: the one binary of the system.
//!
//! Each group of subcommands lives in its own `cli_*` module and is flattened into
//! [`Command`]; this file only parses the global options and dispatches.

mod cli_billing;
mod cli_calibrate;
mod cli_keys;
mod cli_license;
mod cli_models;
mod cli_serve;
mod cli_vision;
mod db;
mod global;

use clap::{Parser, Subcommand};

pub use global::GlobalOpts;

#[derive(Parser)]
#[command(
    name = "renlian",
    version,
    about = "Self-hostable face-recognition cloud"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Billing(cli_billing::Command),
    #[command(flatten)]
    Calibrate(cli_calibrate::Command),
    #[command(flatten)]
    Keys(cli_keys::Command),
    #[command(flatten)]
    License(cli_license::Command),
    #[command(flatten)]
    Models(cli_models::Command),
    #[command(flatten)]
    Serve(cli_serve::Command),
    #[command(flatten)]
    Vision(cli_vision::Command),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RENLIAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Billing(c) => cli_billing::run(c, &cli.global).await,
        Command::Calibrate(c) => cli_calibrate::run(c, &cli.global).await,
        Command::Keys(c) => cli_keys::run(c, &cli.global).await,
        Command::License(c) => cli_license::run(c, &cli.global).await,
        Command::Models(c) => cli_models::run(c, &cli.global).await,
        Command::Serve(c) => cli_serve::run(c, &cli.global).await,
        Command::Vision(c) => cli_vision::run(c, &cli.global).await,
    }
}
