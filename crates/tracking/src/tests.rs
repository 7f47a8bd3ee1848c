//! The association rule on synthetic boxes.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::*;

/// A 100×100 face at (x, y) of this quality; the payload is a label the tests choose.
fn face(x: f32, y: f32, quality: f32, label: u32) -> Detection<u32> {
    Detection {
        bbox: FaceBox::new(x, y, 100.0, 100.0),
        confidence: 1.0,
        quality,
        payload: label,
    }
}

/// The track each detection of the frame went to (Started or Updated), by number.
fn assignment(events: &[Event<u32>], n: usize) -> Vec<u64> {
    let mut out = vec![0; n];
    for e in events {
        match e {
            Event::Started { track, detection }
            | Event::Updated {
                track, detection, ..
            } => {
                out[*detection] = *track;
            }
            _ => {}
        }
    }
    assert!(
        out.iter().all(|&t| t != 0),
        "a detection got no track: {events:?}"
    );
    out
}

fn ended(events: &[Event<u32>]) -> Vec<&Ended<u32>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Ended(x) => Some(x),
            _ => None,
        })
        .collect()
}

#[test]
fn a_face_moving_linearly_keeps_one_id() {
    let mut tr = Tracker::default();
    let mut all = Vec::new();
    for k in 0..20u32 {
        // 30 px a frame to the right, 10 down, 10 frames a second.
        let x = 30.0 * k as f32;
        let y = 50.0 + 10.0 * k as f32;
        let events = tr
            .update(u64::from(k) * 100, vec![face(x, y, 50.0, k)])
            .unwrap();
        assert_eq!(assignment(&events, 1), vec![1]);
        if k >= 2 {
            // From the third frame on the prediction lands exactly on the face.
            let Some(Event::Updated { iou, .. }) = events.first() else {
                panic!("{events:?}")
            };
            assert!((iou - 1.0).abs() < 1e-4, "frame {k}: iou {iou}");
        }
        all.extend(events);
    }
    let confirmed: Vec<_> = all
        .iter()
        .filter(|e| matches!(e, Event::Confirmed { .. }))
        .collect();
    assert_eq!(confirmed, vec![&Event::Confirmed { track: 1 }]);
    let end = tr.finish();
    let ends = ended(&end);
    assert_eq!(ends.len(), 1);
    assert_eq!(
        (
            ends[0].track,
            ends[0].reason,
            ends[0].hits,
            ends[0].first_ms,
            ends[0].last_ms
        ),
        (1, EndReason::Finished, 20, 0, 1900)
    );
}

/// Two faces crossing: A left to right, B right to left 20 px lower, 40 px a frame
/// each. At the crossing each face's last box overlaps the other face's new box more
/// than its own (IoU 0.67 against 0.43).
fn crossing(config: TrackerConfig) -> Vec<[u64; 2]> {
    let mut tr = Tracker::new(config).unwrap();
    (0..16u32)
        .map(|k| {
            let v = 40.0 * k as f32;
            let dets = vec![face(v, 100.0, 50.0, 0), face(600.0 - v, 120.0, 50.0, 1)];
            let events = tr.update(u64::from(k) * 100, dets).unwrap();
            let a = assignment(&events, 2);
            [a[0], a[1]]
        })
        .collect()
}

#[test]
fn crossing_faces_keep_their_ids() {
    let ids = crossing(TrackerConfig::default());
    assert!(ids.iter().all(|&pair| pair == [1, 2]), "{ids:?}");
    // Without the velocity prediction the same sequence swaps them.
    let still = crossing(TrackerConfig {
        max_predict_ms: 0,
        ..TrackerConfig::default()
    });
    assert_eq!(still[7], [1, 2]);
    assert_eq!(still[8], [2, 1], "{still:?}");
}

/// A still face seen every 100 ms from 0 to 500 ms, then nothing but empty frames
/// until it comes back at `back_ms`: the ids it had before and after.
fn leave_and_return(back_ms: u64) -> (u64, u64, Vec<Event<u32>>) {
    let mut tr = Tracker::default();
    let mut events = Vec::new();
    for t in (0..=500).step_by(100) {
        events.extend(tr.update(t, vec![face(10.0, 10.0, 50.0, 0)]).unwrap());
    }
    let before = assignment(&events[..1], 1)[0];
    for t in (600..back_ms).step_by(100) {
        events.extend(tr.update(t, vec![]).unwrap());
    }
    let back = tr.update(back_ms, vec![face(12.0, 10.0, 50.0, 1)]).unwrap();
    let after = assignment(&back, 1)[0];
    events.extend(back);
    (before, after, events)
}

#[test]
fn a_gap_up_to_max_age_keeps_the_id() {
    // 1000 ms without a match is not more than max_age_ms (1000).
    for back in [1400, 1500] {
        let (before, after, events) = leave_and_return(back);
        assert_eq!(before, after, "back at {back}");
        assert!(ended(&events).is_empty());
    }
}

#[test]
fn a_face_back_after_max_age_gets_a_new_id() {
    let (before, after, events) = leave_and_return(1700);
    assert_eq!((before, after), (1, 2));
    // The first track ended at the first frame more than 1000 ms after its last match
    // (the empty one at 1600 ms), with its best shot.
    let ends = ended(&events);
    assert_eq!(ends.len(), 1);
    assert_eq!(
        (ends[0].track, ends[0].reason, ends[0].last_ms, ends[0].hits),
        (1, EndReason::Lost, 500, 6)
    );
    let pos = |pred: &dyn Fn(&Event<u32>) -> bool| events.iter().position(pred).unwrap();
    assert!(
        pos(&|e| matches!(e, Event::Ended(_)))
            < pos(&|e| matches!(e, Event::Started { track: 2, .. }))
    );
}

#[test]
fn the_best_shot_is_the_highest_quality_and_the_earliest_on_ties() {
    let mut tr = Tracker::default();
    let qualities = [40.0, 70.0, 55.0, 70.0, 30.0];
    let mut best_flags = Vec::new();
    for (k, q) in qualities.into_iter().enumerate() {
        let events = tr
            .update(k as u64 * 100, vec![face(k as f32, 0.0, q, k as u32)])
            .unwrap();
        for e in &events {
            if let Event::Updated { best, .. } = e {
                best_flags.push(*best);
            }
        }
        // On request, while the track lives.
        let shot = tr.best_shot(1).unwrap();
        let want = if k == 0 { 0 } else { 1 };
        assert_eq!(shot.payload, want, "after frame {k}");
    }
    assert_eq!(best_flags, [true, false, false, false]);
    let end = tr.finish();
    let best = &ended(&end)[0].best;
    assert_eq!(
        (best.payload, best.at_ms, best.quality, best.bbox),
        (1, 100, 70.0, FaceBox::new(1.0, 0.0, 100.0, 100.0))
    );
    assert!(tr.best_shot(1).is_none(), "ended tracks are gone");
}

#[test]
fn tentative_tracks_that_never_confirm_yield_no_confirmed_events() {
    let mut tr = Tracker::default();
    let mut events = Vec::new();
    // A false detection twice at one place within the window, then once more too late:
    // two hits of the three needed.
    for (t, dets) in [
        (0, vec![face(0.0, 0.0, 60.0, 0)]),
        (600, vec![face(0.0, 0.0, 60.0, 1)]),
        (1100, vec![face(0.0, 0.0, 60.0, 2)]),
        // A one-off elsewhere, lost after max_age.
        (1200, vec![face(500.0, 500.0, 60.0, 3)]),
        (2300, vec![]),
    ] {
        events.extend(tr.update(t, dets).unwrap());
    }
    events.extend(tr.finish());
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Started { track, .. } => format!("start {track}"),
            Event::Updated { track, .. } => format!("update {track}"),
            Event::Discarded { track, reason } => format!("discard {track} {reason:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "start 1",
            "update 1",
            // At 1100 ms the first hit is 1100 ms old: past the 1000 ms window.
            "discard 1 Unconfirmed",
            "start 2",
            "start 3",
            "discard 2 Lost",
            "discard 3 Lost",
        ]
    );
}

#[test]
fn one_hit_confirms_when_configured() {
    let mut tr = Tracker::new(TrackerConfig {
        confirm_hits: 1,
        ..TrackerConfig::default()
    })
    .unwrap();
    let events = tr.update(0, vec![face(0.0, 0.0, 10.0, 0)]).unwrap();
    assert_eq!(
        events,
        [
            Event::Started {
                track: 1,
                detection: 0
            },
            Event::Confirmed { track: 1 }
        ]
    );
}

#[test]
fn time_going_back_is_refused_and_changes_nothing() {
    let mut tr = Tracker::default();
    tr.update(1000, vec![face(0.0, 0.0, 10.0, 0)]).unwrap();
    let before: Vec<TrackState> = tr.tracks().collect();
    assert_eq!(
        tr.update(999, vec![face(300.0, 0.0, 10.0, 1)]),
        Err(TrackError::TimeWentBack {
            previous_ms: 1000,
            at_ms: 999
        })
    );
    assert_eq!(tr.tracks().collect::<Vec<_>>(), before);
    // The same time again is a frame like any other.
    let events = tr.update(1000, vec![face(1.0, 0.0, 10.0, 2)]).unwrap();
    assert_eq!(assignment(&events, 1), [1]);
}

#[test]
fn invalid_detections_are_refused_by_number() {
    let mut tr = Tracker::default();
    let mut bad = face(0.0, 0.0, 10.0, 1);
    bad.quality = 101.0;
    let r = tr.update(0, vec![face(0.0, 0.0, 10.0, 0), bad]);
    assert!(
        matches!(r, Err(TrackError::InvalidDetection { index: 1, .. })),
        "{r:?}"
    );
    let mut bad = face(0.0, 0.0, 10.0, 1);
    bad.bbox.w = 0.0;
    let r = tr.update(0, vec![bad]);
    assert!(
        matches!(r, Err(TrackError::InvalidDetection { index: 0, .. })),
        "{r:?}"
    );
    assert_eq!(tr.tracks().count(), 0);
}

#[test]
fn ids_keep_increasing_after_finish() {
    let mut tr = Tracker::default();
    tr.update(0, vec![face(0.0, 0.0, 10.0, 0)]).unwrap();
    tr.finish();
    let events = tr.update(10, vec![face(0.0, 0.0, 10.0, 0)]).unwrap();
    assert_eq!(assignment(&events, 1), [2]);
}

/// One frame of the property tests: time step and boxes (x, y, size, quality).
type Frame = (u64, Vec<(f32, f32, f32, f32)>);

fn frames() -> impl Strategy<Value = Vec<Frame>> {
    // A small field, so boxes overlap often and tracks both match and die; qualities
    // in steps of 10, so ties for the best shot happen.
    let quality = (0u8..=10).prop_map(|q| f32::from(q) * 10.0);
    let det = (0.0f32..300.0, 0.0f32..300.0, 40.0f32..120.0, quality);
    prop::collection::vec((0u64..700, prop::collection::vec(det, 0..6)), 0..40)
}

proptest! {
    #[test]
    fn every_started_track_ends_once_with_its_best_shot(frames in frames(), hits in 1u32..4) {
        let mut tr = Tracker::new(TrackerConfig { confirm_hits: hits, ..TrackerConfig::default() })
            .unwrap();
        let mut t = 0;
        let mut started = Vec::new();
        let mut confirmed = BTreeSet::new();
        let mut terminal: BTreeMap<u64, usize> = BTreeMap::new();
        // Per track: (quality, time) of each detection it was given.
        let mut given: BTreeMap<u64, Vec<(f32, u64)>> = BTreeMap::new();
        let mut check = |events: Vec<Event<u32>>, at: u64, qualities: &[f32]| -> Result<(), TestCaseError> {
            let mut seen = vec![0; qualities.len()];
            for e in events {
                match e {
                    Event::Started { track, detection } => {
                        prop_assert!(started.last().is_none_or(|&l| track > l), "ids increase");
                        started.push(track);
                        seen[detection] += 1;
                        given.entry(track).or_default().push((qualities[detection], at));
                    }
                    Event::Updated { track, detection, .. } => {
                        prop_assert!(!terminal.contains_key(&track));
                        seen[detection] += 1;
                        given.entry(track).or_default().push((qualities[detection], at));
                    }
                    Event::Confirmed { track } => {
                        prop_assert!(confirmed.insert(track), "confirmed twice");
                    }
                    Event::Ended(end) => {
                        prop_assert!(confirmed.contains(&end.track));
                        *terminal.entry(end.track).or_default() += 1;
                        let g = &given[&end.track];
                        let max = g.iter().map(|x| x.0).fold(f32::MIN, f32::max);
                        let first = g.iter().find(|x| x.0 == max).map(|x| x.1);
                        prop_assert_eq!(end.best.quality, max);
                        prop_assert_eq!(Some(end.best.at_ms), first);
                        prop_assert_eq!(end.hits as usize, g.len());
                    }
                    Event::Discarded { track, .. } => {
                        prop_assert!(!confirmed.contains(&track));
                        *terminal.entry(track).or_default() += 1;
                    }
                }
            }
            // Every detection went to exactly one track.
            prop_assert!(seen.iter().all(|&n| n == 1), "{:?}", seen);
            Ok(())
        };
        for (dt, boxes) in frames {
            t += dt;
            let qualities: Vec<f32> = boxes.iter().map(|b| b.3).collect();
            let dets = boxes
                .iter()
                .map(|&(x, y, side, q)| Detection {
                    bbox: FaceBox::new(x, y, side, side),
                    confidence: 1.0,
                    quality: q,
                    payload: 0,
                })
                .collect();
            check(tr.update(t, dets).unwrap(), t, &qualities)?;
        }
        check(tr.finish(), t, &[])?;
        prop_assert_eq!(tr.tracks().count(), 0);
        let unique: BTreeSet<_> = started.iter().collect();
        prop_assert_eq!(unique.len(), started.len());
        for id in &started {
            prop_assert_eq!(terminal.get(id), Some(&1), "track {} ends once", id);
        }
        prop_assert_eq!(terminal.len(), started.len());
    }
}
