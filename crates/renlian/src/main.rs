//! `renlian`: the one binary of the system.
//!
//! Each group of subcommands lives in its own `cli_*` module and is flattened into
//! [`Command`]; this file only parses the global options and dispatches.

mod cli_billing;
mod cli_calibrate;
mod cli_console;
mod cli_keys;
mod cli_license;
mod cli_models;
mod cli_serve;
mod cli_vision;
mod db;
mod global;
mod output;
mod private;
mod progress;

use std::process::ExitCode;

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
    Console(cli_console::Command),
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
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RENLIAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        end_quietly_on_a_closed_pipe();
    }
    if let Err(e) = use_onnxruntime_if_asked() {
        report(&e);
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Billing(c) => cli_billing::run(c, &cli.global).await,
        Command::Calibrate(c) => cli_calibrate::run(c, &cli.global).await,
        Command::Console(c) => cli_console::run(c, &cli.global).await,
        Command::Keys(c) => cli_keys::run(c, &cli.global).await,
        Command::License(c) => cli_license::run(c, &cli.global).await,
        Command::Models(c) => cli_models::run(c, &cli.global).await,
        Command::Serve(c) => cli_serve::run(c, &cli.global).await,
        Command::Vision(c) => cli_vision::run(c, &cli.global).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// `RENLIAN_ONNXRUNTIME`: the path of ONNX Runtime's shared library (the PyPI
/// `onnxruntime` wheel's `onnxruntime/capi/libonnxruntime.so.*`). When set, the face
/// engine's networks run in ONNX Runtime instead of tract (docs/vision.md, "Runtime").
fn use_onnxruntime_if_asked() -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("RENLIAN_ONNXRUNTIME").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = std::path::PathBuf::from(path);
    vision::runtime::use_onnxruntime(&path).map_err(|e| {
        anyhow::anyhow!(
            "RENLIAN_ONNXRUNTIME={}: {e} (unset it to run on tract)",
            path.display()
        )
    })?;
    tracing::info!(library = %path.display(), "inference on ONNX Runtime");
    Ok(())
}

/// An ordinary failure (a missing file, a refused image, an unknown account) is one
/// message and exit status 1. anyhow captures a backtrace whenever `RUST_BACKTRACE` is set,
/// which many machines set; it is shown only when debug logging is asked for
/// (`RENLIAN_LOG=debug`). Panics, which are bugs, keep Rust's own backtrace.
fn report(e: &anyhow::Error) {
    let debug =
        std::env::var("RENLIAN_LOG").is_ok_and(|v| v.contains("debug") || v.contains("trace"));
    if debug {
        eprintln!("error: {e:?}");
    } else {
        eprintln!("error: {e:#}");
    }
}

/// `renlian models list | head -3` should end as Unix tools do when the reader goes away:
/// killed by SIGPIPE, silently. Rust ignores SIGPIPE, so `println!` would panic on the
/// closed pipe instead. Not for `serve`, where a client hanging up must never end the
/// process.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: `signal` only resets the process's disposition of SIGPIPE to the default; no
    // handler of ours runs, so nothing Rust relies on is touched.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
