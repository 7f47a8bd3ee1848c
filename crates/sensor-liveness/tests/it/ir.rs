//! IR liveness on the fixture photos: IR-like frames made from them are accepted; frames
//! with no face there (black, grey, noise, a flat or dark patch where the face is, the
//! face moved away) are refused, each for the reason the method gives.

use image::{GrayImage, Luma};
use sensor_liveness::{ir, IrReason, IrVerdict, LivenessError};
use vision::Rect;

use crate::common::{env, Subject};
use crate::synth::{add_noise, nir_like, noise_frame, IR_NOISE};

fn assess(s: &Subject, frame: &GrayImage, case: &str) -> IrVerdict {
    let v = ir::assess(&env().engine, frame, &s.face).unwrap();
    let m = &v.measures;
    println!(
        "ir {:<14} {:<22} score {:>3} live {:<5} iou {:.2} mean {:>5.1} frame {:>5.1} sat {:.3} contrast {:.3} texture {:.3} {:?}",
        s.name, case, v.score, v.is_live, m.iou, m.face_mean, m.frame_mean, m.saturated, m.contrast, m.texture, v.reasons
    );
    v
}

fn has(v: &IrVerdict, f: impl Fn(&IrReason) -> bool) -> bool {
    v.reasons.iter().any(f)
}

/// The face box grown by a fifth on each side, within the frame.
fn around_face(s: &Subject) -> Rect {
    let r = s.face.rect;
    let (gw, gh) = (r.width() / 5, r.height() / 5);
    Rect::new(r.left - gw, r.top - gh, r.right + gw, r.bottom + gh).intersect(&Rect::sized(
        i64::from(s.image.width()),
        i64::from(s.image.height()),
    ))
}

fn fill(frame: &mut GrayImage, r: &Rect, level: u8) {
    for y in r.top..=r.bottom {
        for x in r.left..=r.right {
            frame.put_pixel(x as u32, y as u32, Luma([level]));
        }
    }
}

/// The frame moved right by `dx` pixels (left when negative), black where it moved from.
fn shifted(frame: &GrayImage, dx: i64) -> GrayImage {
    GrayImage::from_fn(frame.width(), frame.height(), |x, y| {
        let sx = i64::from(x) - dx;
        if sx >= 0 && sx < i64::from(frame.width()) {
            *frame.get_pixel(sx as u32, y)
        } else {
            Luma([0])
        }
    })
}

#[test]
fn ir_like_frames_of_real_faces_are_accepted() {
    for (i, s) in env().subjects.iter().enumerate() {
        let frame = nir_like(&s.image, 100 + i as u64);
        let v = assess(s, &frame, "ir-like");
        assert!(v.is_live && v.score >= 50, "{}: {v:?}", s.name);
        assert!(v.measures.iou >= 0.6, "{}: {v:?}", s.name);
        // A registration error of 5 % of the face's width is tolerated.
        let dx = s.face.rect.width() / 20;
        let v = assess(s, &shifted(&frame, dx), "ir-like, 5% off");
        assert!(v.is_live, "{}: {v:?}", s.name);
    }
}

#[test]
fn frames_with_no_face_are_refused() {
    for (i, s) in env().subjects.iter().enumerate() {
        let (w, h) = s.image.dimensions();
        let black = GrayImage::new(w, h);
        let v = assess(s, &black, "black");
        assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
        assert!(has(&v, |r| *r == IrReason::NoFace), "{v:?}");
        assert!(has(&v, |r| matches!(r, IrReason::TooDark { .. })), "{v:?}");

        let mut grey = GrayImage::from_pixel(w, h, Luma([128]));
        add_noise(&mut grey, IR_NOISE, 200 + i as u64);
        let v = assess(s, &grey, "uniform grey");
        assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
        assert!(has(&v, |r| *r == IrReason::NoFace), "{v:?}");
        assert!(has(&v, |r| matches!(r, IrReason::Flat { .. })), "{v:?}");
        assert!(
            has(&v, |r| matches!(r, IrReason::NoTexture { .. })),
            "{v:?}"
        );

        let v = assess(s, &noise_frame(w, h, 300 + i as u64), "noise");
        assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
        assert!(has(&v, |r| *r == IrReason::NoFace), "{v:?}");
    }
}

#[test]
fn a_flat_or_dark_patch_where_the_face_is_is_refused() {
    for (i, s) in env().subjects.iter().enumerate() {
        let real = nir_like(&s.image, 400 + i as u64);
        let patch = around_face(s);
        let mean = {
            let (mut n, mut sum) = (0u64, 0u64);
            for y in patch.top..=patch.bottom {
                for x in patch.left..=patch.right {
                    sum += u64::from(real.get_pixel(x as u32, y as u32).0[0]);
                    n += 1;
                }
            }
            (sum / n.max(1)) as u8
        };
        // A uniform patch as bright as the face was (a matte card held over it).
        let mut flat = real.clone();
        fill(&mut flat, &patch, mean);
        add_noise(&mut flat, IR_NOISE, 500 + i as u64);
        let v = assess(s, &flat, "flat patch");
        assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
        assert!(has(&v, |r| matches!(r, IrReason::Flat { .. })), "{v:?}");
        assert!(
            has(&v, |r| matches!(r, IrReason::NoTexture { .. })),
            "{v:?}"
        );

        // A screen replaying the face: it emits no NIR, so it reads near the black
        // level in a lit scene.
        let mut screen = real.clone();
        fill(&mut screen, &patch, 8);
        add_noise(&mut screen, IR_NOISE, 600 + i as u64);
        let v = assess(s, &screen, "screen (dark patch)");
        assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
        assert!(has(&v, |r| *r == IrReason::NoFace), "{v:?}");
        assert!(has(&v, |r| matches!(r, IrReason::TooDark { .. })), "{v:?}");
    }
}

#[test]
fn a_washed_out_face_is_refused() {
    // Three times the exposure, clipped: a glossy print mirroring the illuminator, or a
    // face too near it; either way there is no skin texture left to judge.
    for (i, s) in env().subjects.iter().enumerate() {
        let mut frame = nir_like(&s.image, 800 + i as u64);
        for p in frame.pixels_mut() {
            p.0[0] = (u16::from(p.0[0]) * 3).min(255) as u8;
        }
        let v = assess(s, &frame, "washed out");
        assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
        assert!(
            has(&v, |r| matches!(r, IrReason::Saturated { .. })),
            "{v:?}"
        );
    }
}

#[test]
fn a_face_away_from_the_rgb_box_is_refused() {
    for (i, s) in env().subjects.iter().enumerate() {
        let real = nir_like(&s.image, 700 + i as u64);
        let w = s.face.rect.width();
        // Towards the side with more room, so the face stays in the frame.
        let room_right = i64::from(s.image.width()) - 1 - s.face.rect.right;
        let sign = if room_right >= s.face.rect.left {
            1
        } else {
            -1
        };
        for (fraction, case) in [(0.6, "moved 0.6 face"), (1.2, "moved 1.2 faces")] {
            let dx = sign * (fraction * w as f64) as i64;
            let v = assess(s, &shifted(&real, dx), case);
            assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
            assert!(
                has(&v, |r| *r == IrReason::NoFace
                    || matches!(r, IrReason::FaceMisplaced { .. })),
                "{v:?}"
            );
        }
    }
}

#[test]
fn a_face_box_outside_the_frame_is_an_error() {
    let s = &env().subjects[0];
    let small = GrayImage::new(40, 40);
    let mut face = s.face.clone();
    face.rect = Rect::new(100, 100, 199, 199);
    match ir::assess(&env().engine, &small, &face) {
        Err(LivenessError::InvalidArgument(m)) => assert!(m.contains("outside"), "{m}"),
        other => panic!("{other:?}"),
    }
}
