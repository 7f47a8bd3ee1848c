//! How the one-shot commands print: `--json` output is indented on a terminal and one
//! line when piped (`renlian account create acme --json | jq .id` reads one object per
//! line, as the README shows it), the human text otherwise.

use std::io::IsTerminal;

use clap::Args;
use serde::Serialize;

/// The `--json` switch the billing and licence commands share.
#[derive(Args, Clone, Copy, Debug)]
pub struct Out {
    /// Machine-readable JSON output (one line when piped).
    #[arg(long)]
    pub json: bool,
}

/// Prints `value` as JSON when `--json` was given, else the text `human` makes.
pub fn print<T: Serialize>(
    out: Out,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if out.json {
        print_json(value)
    } else {
        println!("{}", human());
        Ok(())
    }
}

/// JSON on stdout: indented for a person at a terminal, compact for a program.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    println!("{text}");
    Ok(())
}
