//! The tracker: live tracks, the per-frame association and its events.

use crate::config::{ConfigError, TrackerConfig};
use crate::geometry::{predict, FaceBox, Seen};

/// One face found in a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection<T> {
    /// Where the face is (finite, positive size).
    pub bbox: FaceBox,
    /// The detector's confidence (finite; kept with the best shot, not used to match).
    pub confidence: f32,
    /// Quality, 0-100, higher is better: what picks the best shot.
    pub quality: f32,
    /// Whatever the caller needs of this face later (a crop, a descriptor's input);
    /// kept only while this detection is its track's best shot.
    pub payload: T,
}

/// A track's best detection so far: the highest quality, the earliest on ties.
#[derive(Clone, Debug, PartialEq)]
pub struct BestShot<T> {
    /// The timestamp of its frame.
    pub at_ms: u64,
    pub bbox: FaceBox,
    pub confidence: f32,
    pub quality: f32,
    pub payload: T,
}

/// Why a track ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Not matched for more than `max_age_ms`.
    Lost,
    /// Tentative and not confirmed within `confirm_window_ms` of its first detection.
    Unconfirmed,
    /// [`Tracker::finish`] (end of stream).
    Finished,
}

/// A confirmed track that ended, with its best shot.
#[derive(Clone, Debug, PartialEq)]
pub struct Ended<T> {
    pub track: u64,
    pub reason: EndReason,
    /// Timestamps of its first and last matched detections.
    pub first_ms: u64,
    pub last_ms: u64,
    /// Detections matched to it, the first included.
    pub hits: u32,
    pub best: BestShot<T>,
}

/// What one frame (or [`Tracker::finish`]) did; the order is given in the crate doc.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<T> {
    /// Detection number `detection` matched no track and starts tentative track `track`.
    Started { track: u64, detection: usize },
    /// `track` reached `confirm_hits` hits.
    Confirmed { track: u64 },
    /// Detection number `detection` matched `track` with this IoU against its predicted
    /// box; `best` when it became the track's best shot.
    Updated {
        track: u64,
        detection: usize,
        iou: f32,
        best: bool,
    },
    /// A confirmed track ended.
    Ended(Ended<T>),
    /// A tentative track ended without being confirmed; its payload is dropped.
    Discarded { track: u64, reason: EndReason },
}

/// A live track as [`Tracker::tracks`] shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackState {
    pub track: u64,
    pub confirmed: bool,
    pub hits: u32,
    pub first_ms: u64,
    pub last_ms: u64,
    /// Its last matched box.
    pub last_box: FaceBox,
}

/// A frame the tracker refuses; the tracker is left as it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrackError {
    #[error("frame time {at_ms} ms is before the previous frame's {previous_ms} ms")]
    TimeWentBack { previous_ms: u64, at_ms: u64 },
    #[error("detection {index}: {reason}")]
    InvalidDetection { index: usize, reason: &'static str },
}

#[derive(Debug)]
struct Track<T> {
    id: u64,
    confirmed: bool,
    hits: u32,
    first_ms: u64,
    last: Seen,
    /// The last match at a time strictly before `last`'s: the velocity's other end.
    prev: Option<Seen>,
    best: BestShot<T>,
}

impl<T> Track<T> {
    fn state(&self) -> TrackState {
        TrackState {
            track: self.id,
            confirmed: self.confirmed,
            hits: self.hits,
            first_ms: self.first_ms,
            last_ms: self.last.at_ms,
            last_box: self.last.bbox,
        }
    }

    /// Records a matched detection; true when it became the best shot.
    fn record(&mut self, at_ms: u64, d: Detection<T>) -> bool {
        self.hits = self.hits.saturating_add(1);
        let seen = Seen {
            at_ms,
            bbox: d.bbox,
        };
        // Two frames may share a timestamp: the velocity needs two different times.
        if at_ms > self.last.at_ms {
            self.prev = Some(self.last);
        }
        self.last = seen;
        // Strictly higher: on a tie the earlier frame stays.
        let better = d.quality > self.best.quality;
        if better {
            self.best = shot(at_ms, d);
        }
        better
    }

    fn end(self, reason: EndReason) -> Event<T> {
        if self.confirmed {
            Event::Ended(Ended {
                track: self.id,
                reason,
                first_ms: self.first_ms,
                last_ms: self.last.at_ms,
                hits: self.hits,
                best: self.best,
            })
        } else {
            Event::Discarded {
                track: self.id,
                reason,
            }
        }
    }
}

fn shot<T>(at_ms: u64, d: Detection<T>) -> BestShot<T> {
    BestShot {
        at_ms,
        bbox: d.bbox,
        confidence: d.confidence,
        quality: d.quality,
        payload: d.payload,
    }
}

/// Tracks faces across frames; one per video stream. See the crate doc for the rule.
#[derive(Debug)]
pub struct Tracker<T> {
    config: TrackerConfig,
    /// Live tracks in increasing id order (new ones are pushed with the next id).
    tracks: Vec<Track<T>>,
    next_id: u64,
    last_frame_ms: Option<u64>,
}

impl<T> Default for Tracker<T> {
    fn default() -> Self {
        Tracker {
            config: TrackerConfig::default(),
            tracks: Vec::new(),
            // 0 is left free so a C caller can use it for "no track".
            next_id: 1,
            last_frame_ms: None,
        }
    }
}

impl<T> Tracker<T> {
    /// A tracker with this configuration, checked.
    pub fn new(config: TrackerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Tracker {
            config,
            ..Tracker::default()
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// The live tracks (tentative and confirmed), in id order.
    pub fn tracks(&self) -> impl Iterator<Item = TrackState> + '_ {
        self.tracks.iter().map(Track::state)
    }

    /// The best shot so far of a live track (tentative or confirmed); `None` for an
    /// id that is not live.
    pub fn best_shot(&self, track: u64) -> Option<&BestShot<T>> {
        self.tracks
            .binary_search_by_key(&track, |t| t.id)
            .ok()
            .and_then(|i| self.tracks.get(i))
            .map(|t| &t.best)
    }

    /// Feeds one frame: its timestamp in milliseconds (never lower than the previous
    /// frame's) and the faces detected in it, numbered by their position.
    pub fn update(
        &mut self,
        at_ms: u64,
        detections: Vec<Detection<T>>,
    ) -> Result<Vec<Event<T>>, TrackError> {
        if let Some(previous_ms) = self.last_frame_ms {
            if at_ms < previous_ms {
                return Err(TrackError::TimeWentBack { previous_ms, at_ms });
            }
        }
        for (index, d) in detections.iter().enumerate() {
            check(index, d)?;
        }
        self.last_frame_ms = Some(at_ms);

        let mut events = self.expire(at_ms);

        // Step 3 of the rule: every pair above the threshold, best IoU first.
        let predicted: Vec<FaceBox> = self
            .tracks
            .iter()
            .map(|t| predict(t.prev.as_ref(), &t.last, at_ms, self.config.max_predict_ms))
            .collect();
        let mut pairs = Vec::new();
        for (ti, p) in predicted.iter().enumerate() {
            for (di, d) in detections.iter().enumerate() {
                let iou = p.iou(&d.bbox);
                if iou > self.config.iou_threshold {
                    pairs.push((iou, ti, di));
                }
            }
        }
        // Tracks are in id order, so the track index breaks ties by id.
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut track_taken = vec![false; self.tracks.len()];
        let mut matched: Vec<Option<(usize, f32)>> = vec![None; detections.len()];
        for (iou, ti, di) in pairs {
            if !track_taken[ti] && matched[di].is_none() {
                track_taken[ti] = true;
                matched[di] = Some((ti, iou));
            }
        }

        for (di, (d, m)) in detections.into_iter().zip(matched).enumerate() {
            match m {
                Some((ti, iou)) => {
                    let confirm_hits = self.config.confirm_hits;
                    let t = &mut self.tracks[ti];
                    let best = t.record(at_ms, d);
                    events.push(Event::Updated {
                        track: t.id,
                        detection: di,
                        iou,
                        best,
                    });
                    if !t.confirmed && t.hits >= confirm_hits {
                        t.confirmed = true;
                        events.push(Event::Confirmed { track: t.id });
                    }
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let confirmed = self.config.confirm_hits <= 1;
                    self.tracks.push(Track {
                        id,
                        confirmed,
                        hits: 1,
                        first_ms: at_ms,
                        last: Seen {
                            at_ms,
                            bbox: d.bbox,
                        },
                        prev: None,
                        best: shot(at_ms, d),
                    });
                    events.push(Event::Started {
                        track: id,
                        detection: di,
                    });
                    if confirmed {
                        events.push(Event::Confirmed { track: id });
                    }
                }
            }
        }
        Ok(events)
    }

    /// Ends every live track (end of stream), in id order. The tracker stays usable:
    /// later frames start new tracks with new ids.
    pub fn finish(&mut self) -> Vec<Event<T>> {
        std::mem::take(&mut self.tracks)
            .into_iter()
            .map(|t| t.end(EndReason::Finished))
            .collect()
    }

    /// Step 1 of the rule: ends lost tracks and discards tentative ones past their
    /// confirmation window.
    fn expire(&mut self, at_ms: u64) -> Vec<Event<T>> {
        let c = self.config;
        let mut events = Vec::new();
        let mut live = Vec::with_capacity(self.tracks.len());
        for t in std::mem::take(&mut self.tracks) {
            if at_ms - t.last.at_ms > c.max_age_ms {
                events.push(t.end(EndReason::Lost));
            } else if !t.confirmed && at_ms - t.first_ms > c.confirm_window_ms {
                events.push(t.end(EndReason::Unconfirmed));
            } else {
                live.push(t);
            }
        }
        self.tracks = live;
        events
    }
}

fn check<T>(index: usize, d: &Detection<T>) -> Result<(), TrackError> {
    let bad = |reason| Err(TrackError::InvalidDetection { index, reason });
    if !d.bbox.is_valid() {
        return bad("the box needs finite coordinates and a positive width and height");
    }
    if !d.confidence.is_finite() {
        return bad("the confidence is not a finite number");
    }
    if !(0.0..=100.0).contains(&d.quality) {
        return bad("the quality is not in 0-100");
    }
    Ok(())
}
