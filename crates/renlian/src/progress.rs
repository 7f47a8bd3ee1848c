//! Progress on stderr, so stdout stays clean for JSON: bars that move (bytes, rate, time
//! left) at a terminal; one line per phase when stderr is a log, a pipe or CI, where a
//! redrawn bar would only be noise.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use models::{Pack, Phase, Progress};

/// Progress of making a model pack available (download, verify, extract), and of an
/// export's steps.
pub struct PackProgress {
    bar: Mutex<Option<ProgressBar>>,
    steps: Mutex<Option<ProgressBar>>,
    terminal: bool,
}

impl PackProgress {
    pub fn new() -> Self {
        PackProgress {
            bar: Mutex::new(None),
            steps: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Ends the bar of steps, if one was drawn.
    pub fn finish_steps(&self) {
        if let Ok(mut slot) = self.steps.lock() {
            if let Some(bar) = slot.take() {
                bar.finish();
            }
        }
    }
}

impl Progress for PackProgress {
    fn begin(&self, pack: Pack, phase: Phase, total: Option<u64>) {
        if !self.terminal {
            match total {
                Some(t) => eprintln!("{}: {phase} ({:.1} MB)…", pack.name(), t as f64 / 1e6),
                None => eprintln!("{}: {phase}…", pack.name()),
            }
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(style(
                "{prefix:>12} {msg:<11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
            )),
            None => ProgressBar::new_spinner(),
        };
        bar.set_prefix(pack.to_string());
        bar.set_message(phase.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn position(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_position(bytes);
            }
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish();
            }
        }
    }

    fn note(&self, pack: Pack, message: &str) {
        eprintln!("{pack}: {message}");
    }

    fn step(&self, done: u64, total: u64, what: &str) {
        if !self.terminal {
            eprintln!("export: [{done}/{total}] {what}");
            return;
        }
        if let Ok(mut slot) = self.steps.lock() {
            let bar = slot.get_or_insert_with(|| {
                ProgressBar::new(total)
                    .with_style(style("{prefix:>12} [{bar:30}] {pos}/{len} {msg}"))
            });
            bar.set_prefix("export");
            // A step is counted when the next one starts.
            bar.set_position(done.saturating_sub(1));
            bar.set_message(what.to_string());
        }
    }
}

/// A bar over `len` items (photos, accounts) with the time left; drawn only when stderr
/// is a terminal.
pub fn items(len: u64, what: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target)
        .with_style(style("{msg} [{bar:30}] {pos}/{len}, {per_sec}, {eta} left"));
    bar.set_message(what.to_string());
    bar
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
