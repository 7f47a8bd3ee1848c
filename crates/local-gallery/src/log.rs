//! The gallery's file: an append-only log of sealed records, replayed at open and
//! rewritten whole by compaction and import.
//!
//! An append writes its frames and fsyncs before it returns. At open, an unfinished
//! last write (a torn frame, or complete frames whose write never committed) is
//! dropped and cut off the file; any other damage is an error. A rewrite goes to a new
//! file that is fsynced, renamed over the log and made durable by an fsync of the
//! directory, so after a crash the log is either the old file or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{LocalGalleryError, Result, Source};
use crate::format::{
    holds_a_later_frame, read_frame, read_header, FileId, FrameRead, Kind, Sealer, FRAME_HEAD,
    HEADER_LEN, MAX_BODY,
};
use crate::record::{Op, Record};

pub(crate) const LOG_FILE: &str = "gallery.log";
const TMP_FILE: &str = "gallery.log.tmp";

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> LocalGalleryError + '_ {
    move |source| LocalGalleryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens for writing, creating the file readable by its owner only: it holds
/// biometric templates, sealed or not.
pub(crate) fn create_private(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Makes a rename or creation in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; its renames are journaled.
        let _ = dir;
        Ok(())
    }
}

/// Writes a header and one frame per record; returns the file id, bytes and records
/// written. I/O errors go through `io_err`.
pub(crate) fn write_records<W: Write>(
    w: &mut W,
    sealer: &Sealer,
    kind: Kind,
    descriptor_version: u8,
    records: impl Iterator<Item = Result<Record>>,
    io_err: &dyn Fn(io::Error) -> LocalGalleryError,
) -> Result<(FileId, u64, u64)> {
    let (header, file_id) = sealer.header(kind, descriptor_version)?;
    w.write_all(&header).map_err(io_err)?;
    let mut bytes = header.len() as u64;
    let mut seq = 0u64;
    for record in records {
        let frame = sealer.frame(&file_id, seq, &record?.encode())?;
        w.write_all(&frame).map_err(io_err)?;
        bytes += frame.len() as u64;
        seq += 1;
    }
    w.flush().map_err(io_err)?;
    Ok((file_id, bytes, seq))
}

/// A log written to the side and renamed into place.
struct Written {
    file_id: FileId,
    len: u64,
    records: u64,
}

/// Writes `ops` as a complete new log in `dir` and renames it over the current one
/// (the caller makes the rename durable).
fn write_renamed(
    dir: &Path,
    sealer: &Sealer,
    descriptor_version: u8,
    ops: impl Iterator<Item = Result<Op>>,
) -> Result<Written> {
    let tmp = dir.join(TMP_FILE);
    let path = dir.join(LOG_FILE);
    let written = (|| -> Result<Written> {
        let file = create_private(&tmp, true).map_err(io_at(&tmp))?;
        let mut w = BufWriter::with_capacity(1 << 16, &file);
        let records = ops.map(|op| op.map(|op| Record { commit: true, op }));
        let (file_id, len, records) = write_records(
            &mut w,
            sealer,
            Kind::Gallery,
            descriptor_version,
            records,
            &|e| io_at(&tmp)(e),
        )?;
        drop(w);
        file.sync_all().map_err(io_at(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_at(&path))?;
        Ok(Written {
            file_id,
            len,
            records,
        })
    })();
    if written.is_err() {
        // The current log is untouched; the partial file is only clutter.
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates an empty log in `dir` for descriptors of `descriptor_version`.
pub(crate) fn create(dir: &Path, sealer: &Sealer, descriptor_version: u8) -> Result<()> {
    write_renamed(dir, sealer, descriptor_version, std::iter::empty())?;
    sync_dir(dir).map_err(io_at(dir))
}

/// Removes what an interrupted rewrite left behind.
pub(crate) fn remove_stale(dir: &Path) -> Result<()> {
    let tmp = dir.join(TMP_FILE);
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(&tmp)(e)),
        _ => Ok(()),
    }
}

/// The open log.
pub(crate) struct Log {
    path: PathBuf,
    file: File,
    file_id: FileId,
    /// The version of the descriptors the file holds (its header's).
    descriptor_version: u8,
    /// Bytes of committed records (the file's length between writes).
    len: u64,
    /// Records in the file: the next record's sequence number.
    records: u64,
    /// A failed append could not be cut off again: refuse writes until reopened.
    broken: bool,
}

impl Log {
    /// Opens the log at `path`, replays every committed record through `apply` (with
    /// the record's offset) and cuts off an unfinished last write; returns the log and
    /// the bytes cut off.
    pub(crate) fn open(
        path: &Path,
        sealer: &Sealer,
        mut apply: impl FnMut(Op, u64) -> Result<()>,
    ) -> Result<(Log, u64)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_at(path))?;
        let file_len = file.metadata().map_err(io_at(path))?.len();
        let mut r = BufReader::with_capacity(1 << 16, &file);
        let header = read_header(&mut r).map_err(io_at(path))?;
        let (file_id, descriptor_version) = sealer.check_header(&header, Kind::Gallery)?;
        let mut offset = HEADER_LEN as u64;
        let mut seq = 0u64;
        let mut pending: Vec<(Op, u64)> = Vec::new();
        let (mut committed_len, mut committed_records) = (offset, 0u64);
        loop {
            let body = match read_frame(&mut r).map_err(io_at(path))? {
                FrameRead::End => break,
                FrameRead::Short(reason) | FrameRead::Bad(reason) => {
                    drop(r);
                    if torn_tail(&file, offset, file_len).map_err(io_at(path))? {
                        break;
                    }
                    return Err(LocalGalleryError::Corrupt {
                        what: Source::Gallery,
                        offset,
                        reason,
                    });
                }
                FrameRead::Body(body) => body,
            };
            let plain = sealer
                .open(&file_id, seq, &body)
                .ok_or(LocalGalleryError::Tampered {
                    what: Source::Gallery,
                    offset,
                })?;
            let corrupt = |reason| LocalGalleryError::Corrupt {
                what: Source::Gallery,
                offset,
                reason,
            };
            let record = Record::decode(&plain).map_err(corrupt)?;
            if matches!(record.op, Op::End { .. }) {
                return Err(corrupt("an export's end record in the gallery".into()));
            }
            pending.push((record.op, offset));
            offset += (FRAME_HEAD + body.len()) as u64;
            seq += 1;
            if record.commit {
                for (op, at) in pending.drain(..) {
                    apply(op, at)?;
                }
                committed_len = offset;
                committed_records = seq;
            }
        }
        let dropped = file_len - committed_len;
        if dropped > 0 {
            // Cut the unfinished write off before anything is appended after it.
            file.set_len(committed_len).map_err(io_at(path))?;
            file.sync_all().map_err(io_at(path))?;
        }
        Ok((
            Log {
                path: path.to_path_buf(),
                file,
                file_id,
                descriptor_version,
                len: committed_len,
                records: committed_records,
                broken: false,
            },
            dropped,
        ))
    }

    /// The version of the descriptors the log holds.
    pub(crate) fn descriptor_version(&self) -> u8 {
        self.descriptor_version
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// Appends `ops` as one write (committed by its last record) and fsyncs.
    pub(crate) fn append(&mut self, sealer: &Sealer, ops: &[Op]) -> Result<()> {
        if self.broken {
            return Err(LocalGalleryError::Broken);
        }
        let mut buf = Vec::with_capacity(ops.len() * 600);
        for (i, op) in ops.iter().enumerate() {
            let record = Record {
                commit: i + 1 == ops.len(),
                op: op.clone(),
            };
            buf.extend(sealer.frame(&self.file_id, self.records + i as u64, &record.encode())?);
        }
        let written = (|| -> io::Result<()> {
            let mut f = &self.file;
            f.seek(SeekFrom::Start(self.len))?;
            f.write_all(&buf)?;
            self.file.sync_data()
        })();
        if let Err(e) = written {
            // Cut a partial write off, so the next append does not follow garbage.
            if self
                .file
                .set_len(self.len)
                .and_then(|_| self.file.sync_data())
                .is_err()
            {
                self.broken = true;
            }
            return Err(io_at(&self.path)(e));
        }
        self.len += buf.len() as u64;
        self.records += ops.len() as u64;
        Ok(())
    }

    /// Replaces the whole log by `ops`: written to the side, fsynced, renamed over
    /// this one, directory fsynced.
    pub(crate) fn rewrite(
        &mut self,
        dir: &Path,
        sealer: &Sealer,
        ops: impl Iterator<Item = Result<Op>>,
    ) -> Result<()> {
        self.rewrite_as(dir, sealer, self.descriptor_version, ops)
    }

    /// [`Log::rewrite`] recording another descriptor version (for a log without faces).
    pub(crate) fn rewrite_as(
        &mut self,
        dir: &Path,
        sealer: &Sealer,
        descriptor_version: u8,
        ops: impl Iterator<Item = Result<Op>>,
    ) -> Result<()> {
        let written = write_renamed(dir, sealer, descriptor_version, ops)?;
        // From here the new file is the log, whatever fails next.
        match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(file) => {
                self.file = file;
                self.file_id = written.file_id;
                self.descriptor_version = descriptor_version;
                self.len = written.len;
                self.records = written.records;
                self.broken = false;
            }
            Err(e) => {
                // Our handle is the old, unlinked file: appending to it would be lost.
                self.broken = true;
                return Err(io_at(&self.path)(e));
            }
        }
        sync_dir(dir).map_err(io_at(dir))
    }
}

/// Whether the bytes from `offset` to the end are what an unfinished append leaves:
/// a prefix of one frame (a process killed mid-write: no more than one frame's bytes,
/// and no complete frame after their start), or zeros (a file system that extended
/// the file before the data reached the disk). A complete frame with a wrong checksum
/// is neither: it is damage, and an error.
fn torn_tail(file: &File, offset: u64, file_len: u64) -> io::Result<bool> {
    let rest = file_len - offset;
    if rest > (FRAME_HEAD + MAX_BODY) as u64 {
        // More than one frame could need: all zeros is the only unfinished write.
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        let mut r = BufReader::with_capacity(1 << 16, f);
        let mut buf = [0u8; 1 << 16];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(true);
            }
            if buf[..n].iter().any(|b| *b != 0) {
                return Ok(false);
            }
        }
    }
    let mut bytes = vec![0u8; rest as usize];
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(&mut bytes)?;
    if bytes.iter().all(|b| *b == 0) {
        return Ok(true);
    }
    let mut r = &bytes[..];
    let short = matches!(read_frame(&mut r)?, FrameRead::Short(_));
    Ok(short && !holds_a_later_frame(&bytes))
}
