//! A record's plaintext: one change to the gallery, in little-endian binary.
//!
//! ```text
//! flags u8 (bit 0: commit; other bits zero) | op u8 | payload
//! op 1 AddFace:      person (u8 length, bytes) | face u64 | 128 × f32 |
//!                    name (opt) | tag (opt); opt = u8 0, or u8 1 + u16 length + UTF-8
//! op 2 RemoveFace:   face u64
//! op 3 RemovePerson: person (u8 length, bytes)
//! op 4 End:          faces u64 (exports only: how many AddFace records precede it)
//! ```
//!
//! A write of several records commits with its last one: at open, records after the
//! last commit are an unfinished write and are dropped with it.

use crate::ids::{FaceId, PersonId};
use crate::model::{check_descriptor, FaceMeta, DESCRIPTOR_DIM};

const COMMIT: u8 = 1;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    AddFace {
        person: PersonId,
        face: FaceId,
        descriptor: Vec<f32>,
        meta: FaceMeta,
    },
    RemoveFace {
        face: FaceId,
    },
    RemovePerson {
        person: PersonId,
    },
    End {
        faces: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub commit: bool,
    pub op: Op,
}

fn put_person(out: &mut Vec<u8>, p: &PersonId) {
    // At most 64 bytes (checked by PersonId::new).
    out.push(p.as_str().len() as u8);
    out.extend_from_slice(p.as_str().as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        None => out.push(0),
        Some(s) => {
            // At most 1024 bytes (checked by FaceMeta::check).
            out.push(1);
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

impl Record {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + DESCRIPTOR_DIM * 4);
        out.push(if self.commit { COMMIT } else { 0 });
        match &self.op {
            Op::AddFace {
                person,
                face,
                descriptor,
                meta,
            } => {
                out.push(1);
                put_person(&mut out, person);
                out.extend_from_slice(&face.as_u64().to_le_bytes());
                for v in descriptor {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                put_opt(&mut out, &meta.name);
                put_opt(&mut out, &meta.tag);
            }
            Op::RemoveFace { face } => {
                out.push(2);
                out.extend_from_slice(&face.as_u64().to_le_bytes());
            }
            Op::RemovePerson { person } => {
                out.push(3);
                put_person(&mut out, person);
            }
            Op::End { faces } => {
                out.push(4);
                out.extend_from_slice(&faces.to_le_bytes());
            }
        }
        out
    }

    /// Parses and validates a record (ids, descriptor, metadata: everything a write
    /// checks). The error says what is wrong.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Record, String> {
        let mut r = Reader(bytes);
        let flags = r.u8()?;
        if flags & !COMMIT != 0 {
            return Err(format!("unknown record flags {flags:#x}"));
        }
        let op = match r.u8()? {
            1 => {
                let person = r.person()?;
                let face = FaceId::from_u64(r.u64()?);
                let descriptor = (0..DESCRIPTOR_DIM)
                    .map(|_| r.f32())
                    .collect::<Result<Vec<f32>, String>>()?;
                check_descriptor(&descriptor).map_err(|e| e.to_string())?;
                let meta = FaceMeta {
                    name: r.opt()?,
                    tag: r.opt()?,
                };
                meta.check().map_err(|e| e.to_string())?;
                Op::AddFace {
                    person,
                    face,
                    descriptor,
                    meta,
                }
            }
            2 => Op::RemoveFace {
                face: FaceId::from_u64(r.u64()?),
            },
            3 => Op::RemovePerson {
                person: r.person()?,
            },
            4 => Op::End { faces: r.u64()? },
            op => return Err(format!("unknown record type {op}")),
        };
        if !r.0.is_empty() {
            return Err(format!("{} bytes after the record", r.0.len()));
        }
        Ok(Record {
            commit: flags & COMMIT != 0,
            op,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err("record ends early".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn f32(&mut self) -> Result<f32, String> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, len: usize) -> Result<String, String> {
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| "text is not UTF-8".to_string())
    }

    fn person(&mut self) -> Result<PersonId, String> {
        let len = self.u8()? as usize;
        let s = self.string(len)?;
        PersonId::new(s).map_err(|e| e.to_string())
    }

    fn opt(&mut self) -> Result<Option<String>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => {
                let b = self.take(2)?;
                let len = u16::from_le_bytes([b[0], b[1]]) as usize;
                Ok(Some(self.string(len)?))
            }
            t => Err(format!("unknown optional marker {t}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_malformed_ones_are_refused() {
        let add = Record {
            commit: true,
            op: Op::AddFace {
                person: PersonId::new("p-1").unwrap(),
                face: FaceId::from_u64(1_234_567_890_123_456_789),
                descriptor: (0..128).map(|i| i as f32 / 7.0).collect(),
                meta: FaceMeta {
                    name: Some("张三".into()),
                    tag: Some(r#"{"door":3}"#.into()),
                },
            },
        };
        let bytes = add.encode();
        assert_eq!(Record::decode(&bytes).unwrap(), add);
        for r in [
            Record {
                commit: false,
                op: Op::RemoveFace {
                    face: FaceId::from_u64(9),
                },
            },
            Record {
                commit: true,
                op: Op::RemovePerson {
                    person: PersonId::new("x").unwrap(),
                },
            },
            Record {
                commit: true,
                op: Op::End { faces: 12 },
            },
        ] {
            assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        }
        assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Record::decode(&longer).is_err());
        let mut nan = bytes.clone();
        // The first descriptor component follows flags, op, person (1 + 3) and face (8).
        nan[14..18].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Record::decode(&nan).unwrap_err().contains("not finite"));
    }
}
