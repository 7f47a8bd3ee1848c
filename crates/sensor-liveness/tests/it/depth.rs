//! 3D liveness on the fixture photos: the photo printed life size on a flat, tilted or
//! bent sheet is refused; depth rendered from the photo's own face mesh (and from another
//! person's relief on the same landmarks) is accepted at two distances.

use sensor_liveness::{depth, DepthMap, DepthReason, DepthVerdict, LivenessError};

use crate::common::{env, Subject};
use crate::synth::{ipd_px, mesh_centre, own_z, render_face, render_sheet, Camera, Sheet};

fn assess(s: &Subject, map: &DepthMap, case: &str) -> DepthVerdict {
    let v = depth::assess(map, &s.face, &s.mesh).unwrap();
    let m = &v.measures;
    println!(
        "depth {:<14} {:<26} score {:>3} live {:<5} samples {:>6}/{:<6} landmarks {:>3} at {:>5.0} mm relief {:>5.1} mm prior {:>5.1} mm corr {:>6.3} gain {:>5.2} plane corr {:>6.3} {:?}",
        s.name,
        case,
        v.score,
        v.is_live,
        m.region_samples,
        m.region_pixels,
        m.landmark_samples,
        m.distance_mm,
        m.relief_mm,
        m.prior_relief_mm,
        m.correlation,
        m.gain,
        m.plane_correlation,
        v.reasons
    );
    v
}

fn sheet(s: &Subject, distance: f64, kind: Sheet, seed: u64) -> DepthMap {
    let (w, h) = s.image.dimensions();
    let cam = Camera::for_face(w, h, ipd_px(&s.mesh), distance);
    render_sheet(w, h, cam, mesh_centre(&s.mesh), distance, kind, seed)
}

fn flat(v: &DepthVerdict) -> bool {
    v.reasons
        .iter()
        .any(|r| matches!(r, DepthReason::Flat { .. }))
}

fn wrong_shape(v: &DepthVerdict) -> bool {
    v.reasons
        .iter()
        .any(|r| matches!(r, DepthReason::WrongShape { .. }))
}

#[test]
fn flat_prints_are_refused_at_any_distance() {
    for (i, s) in env().subjects.iter().enumerate() {
        for distance in [300.0, 500.0, 800.0] {
            let plane = Sheet::Plane {
                yaw: 0.0,
                pitch: 0.0,
            };
            let v = assess(
                s,
                &sheet(s, distance, plane, 10 + i as u64),
                &format!("plane at {distance} mm"),
            );
            assert!(!v.is_live && v.score < 50 && flat(&v), "{}: {v:?}", s.name);
        }
    }
}

#[test]
fn tilted_prints_are_refused() {
    for (i, s) in env().subjects.iter().enumerate() {
        for (yaw, pitch) in [
            (30.0, 0.0),
            (-30.0, 0.0),
            (0.0, 30.0),
            (0.0, -30.0),
            (25.0, 20.0),
        ] {
            let v = assess(
                s,
                &sheet(s, 500.0, Sheet::Plane { yaw, pitch }, 20 + i as u64),
                &format!("plane yaw {yaw} pitch {pitch}"),
            );
            assert!(!v.is_live && v.score < 50 && flat(&v), "{}: {v:?}", s.name);
        }
    }
}

#[test]
fn prints_bent_round_a_cylinder_are_refused() {
    for (i, s) in env().subjects.iter().enumerate() {
        for radius in [80.0, 120.0, 200.0] {
            for vertical_axis in [true, false] {
                let kind = Sheet::Cylinder {
                    radius,
                    vertical_axis,
                };
                let case = format!(
                    "cylinder r {radius} {}",
                    if vertical_axis {
                        "vertical"
                    } else {
                        "horizontal"
                    }
                );
                let v = assess(s, &sheet(s, 500.0, kind, 30 + i as u64), &case);
                assert!(!v.is_live && v.score < 50, "{}: {v:?}", s.name);
                // Bent enough to have relief, it still has the wrong shape.
                assert!(wrong_shape(&v), "{}: {v:?}", s.name);
            }
        }
    }
}

#[test]
fn rendered_faces_are_accepted_at_two_distances() {
    for (i, s) in env().subjects.iter().enumerate() {
        let (w, h) = s.image.dimensions();
        for distance in [450.0, 800.0] {
            let map = render_face(w, h, &s.mesh, &own_z(&s.mesh), distance, 40 + i as u64);
            let v = assess(s, &map, &format!("face at {distance} mm"));
            assert!(v.is_live && v.score >= 50, "{}: {v:?}", s.name);
        }
    }
}

#[test]
fn another_persons_relief_on_these_landmarks_is_accepted() {
    // The prior is a face's shape, not this face's: Biden's relief (scaled to this
    // face's width) on Obama's landmarks, and the reverse, still pass.
    let subjects = &env().subjects;
    for (a, b) in [(0usize, 2usize), (2, 0), (3, 1)] {
        let (s, donor) = (&subjects[a], &subjects[b]);
        let width = |m: &vision::FaceMesh| {
            let (p, q) = (m.points[234], m.points[454]);
            f64::from((p[0] - q[0]).hypot(p[1] - q[1]))
        };
        let k = width(&s.mesh) / width(&donor.mesh);
        let z: Vec<f64> = own_z(&donor.mesh).iter().map(|z| z * k).collect();
        let (w, h) = s.image.dimensions();
        let map = render_face(w, h, &s.mesh, &z, 600.0, 50 + a as u64);
        let v = assess(s, &map, &format!("relief of {}", donor.name));
        assert!(v.is_live, "{} with {}: {v:?}", s.name, donor.name);
    }
}

#[test]
fn too_few_readings_is_an_error_not_a_verdict() {
    let s = &env().subjects[0];
    let (w, h) = s.image.dimensions();
    let empty = DepthMap::new(w, h);
    match depth::assess(&empty, &s.face, &s.mesh) {
        Err(LivenessError::TooFewDepthSamples { valid: 0, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A real face with three pixels in four lost.
    let mut sparse = render_face(w, h, &s.mesh, &own_z(&s.mesh), 500.0, 60);
    for (i, p) in sparse.pixels_mut().enumerate() {
        if i % 4 != 0 {
            p.0[0] = 0;
        }
    }
    match depth::assess(&sparse, &s.face, &s.mesh) {
        Err(LivenessError::TooFewDepthSamples { valid, needed, .. }) => {
            assert!(valid < needed, "{valid} {needed}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_mesh_of_another_face_is_an_error() {
    let s = &env().subjects[0];
    let (w, h) = s.image.dimensions();
    let map = render_face(w, h, &s.mesh, &own_z(&s.mesh), 500.0, 70);
    // The face box four widths away from where the mesh lies.
    let mut face = s.face.clone();
    face.rect = face.rect.translate(4 * face.rect.width(), 0);
    match depth::assess(&map, &face, &s.mesh) {
        Err(LivenessError::InvalidArgument(m)) => assert!(m.contains("mesh"), "{m}"),
        other => panic!("{other:?}"),
    }
}
