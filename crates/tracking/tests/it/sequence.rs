//! A synthetic moving sequence built from the fixture photos: two people's face crops
//! pasted on a plain canvas, moving in opposite directions, one frame in three blurred
//! or darkened. Each frame goes through the real detector and the server's quality
//! score (`vision::quality::assess` on the face mesh's 90 points, as crates/api does),
//! then through the tracker.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::imageops::{self, FilterType};
use image::Rgb;
use tracking::{Detection, Ended, Event, FaceBox, Tracker};
use vision::mesh::MeshNets;
use vision::{Descriptor, Engine, EngineConfig, Face, RgbImage};

const CANVAS: (u32, u32) = (640, 480);
const FRAMES: u32 = 10;
const FRAME_MS: u64 = 200;
/// Side of the pasted square crop; the face inside is about half of it.
const CROP: u32 = 220;
/// Horizontal step per frame, px: a bit over a third of a face.
const STEP: i64 = 40;

/// How frame `k` is spoiled: one in three, alternately blurred and darkened.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Look {
    Sharp,
    Blurred,
    Dark,
}

fn look(k: u32) -> Look {
    match (k % 3, (k / 3) % 2) {
        (1, 0) => Look::Blurred,
        (1, _) => Look::Dark,
        _ => Look::Sharp,
    }
}

/// One person of the sequence: the pasted crop, the descriptor of the source photo.
struct Person {
    name: &'static str,
    crop: RgbImage,
    descriptor: Descriptor,
}

fn fixtures() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fixtures");
    let out = Command::new(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The photo's largest face in a square crop twice its width, scaled to [`CROP`].
fn person(engine: &Engine, dir: &Path, name: &'static str) -> Person {
    let img = engine
        .decode(&std::fs::read(dir.join(name)).unwrap())
        .unwrap();
    let (face, descriptor) = engine.embed(&img).unwrap().into_iter().next().unwrap();
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let side = (2 * face.width()).min(w).min(h);
    let cx = (face.rect.left + face.rect.right) / 2;
    let cy = (face.rect.top + face.rect.bottom) / 2;
    let left = (cx - side / 2).clamp(0, w - side);
    let top = (cy - side / 2).clamp(0, h - side);
    let square =
        imageops::crop_imm(&img, left as u32, top as u32, side as u32, side as u32).to_image();
    Person {
        name,
        crop: imageops::resize(&square, CROP, CROP, FilterType::Triangle),
        descriptor,
    }
}

/// Where the two crops are in frame `k`: A left to right at the top, B right to left
/// at the bottom.
fn placements(k: u32) -> [(i64, i64); 2] {
    let k = i64::from(k);
    let far = i64::from(CANVAS.0 - CROP) - STEP * i64::from(FRAMES - 1);
    assert!(far >= 0, "the walk must stay on the canvas");
    [
        (STEP * k, 10),
        (far + STEP * (i64::from(FRAMES) - 1 - k), 250),
    ]
}

fn render(people: &[Person; 2], k: u32) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(CANVAS.0, CANVAS.1, Rgb([128, 128, 128]));
    for (p, (x, y)) in people.iter().zip(placements(k)) {
        imageops::overlay(&mut canvas, &p.crop, x, y);
    }
    match look(k) {
        Look::Sharp => canvas,
        // Defocus of a couple of pixels: the face is still found but loses its detail.
        Look::Blurred => imageops::blur(&canvas, 2.5),
        // Underexposure: a third of the light.
        Look::Dark => {
            for p in canvas.pixels_mut() {
                p.0 = p.0.map(|v| (f32::from(v) * 0.33).round() as u8);
            }
            canvas
        }
    }
}

/// Which person's crop holds the centre of a detected face, if any.
fn whose(face: &Face, k: u32) -> Option<usize> {
    let cx = (face.rect.left + face.rect.right) / 2;
    let cy = (face.rect.top + face.rect.bottom) / 2;
    placements(k).iter().position(|&(x, y)| {
        (x..x + i64::from(CROP)).contains(&cx) && (y..y + i64::from(CROP)).contains(&cy)
    })
}

#[test]
fn two_people_keep_their_ids_and_best_shots_are_sharp() {
    let store = models::ModelStore::from_env().unwrap();
    store
        .ensure(models::Pack::Dlib, &models::NoProgress)
        .unwrap();
    store
        .ensure(models::Pack::HumanModels, &models::NoProgress)
        .unwrap();
    let engine = Engine::load(&store, EngineConfig::default()).unwrap();
    let mesh = MeshNets::load(&store).unwrap();
    let dir = fixtures();
    let people = [
        person(&engine, &dir, "biden.jpg"),
        person(&engine, &dir, "astronaut.png"),
    ];

    let mut tracker = Tracker::default();
    let mut frames = Vec::new();
    let mut events = Vec::new();
    // Per person: the track id of each frame, and (frame, look, quality) of each face.
    let mut ids: [Vec<u64>; 2] = Default::default();
    let mut seen: [Vec<(u32, Look, f32)>; 2] = Default::default();
    for k in 0..FRAMES {
        let img = render(&people, k);
        let faces = engine.detect(&img).unwrap();
        let mut owners = Vec::new();
        let mut dets = Vec::new();
        for face in faces {
            let owner = whose(&face, k)
                .unwrap_or_else(|| panic!("frame {k}: a face outside both crops: {face:?}"));
            let shape = mesh.run(&img, &face).unwrap().shape90();
            let q = vision::quality::assess(&img, face.rect, &shape);
            seen[owner].push((k, look(k), q.score as f32));
            owners.push(owner);
            dets.push(Detection {
                bbox: FaceBox::new(
                    face.rect.left as f32,
                    face.rect.top as f32,
                    face.width() as f32,
                    face.height() as f32,
                ),
                confidence: face.confidence,
                quality: q.score as f32,
                payload: (k, face),
            });
        }
        let mut sorted = owners.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            [0, 1],
            "frame {k} ({:?}): each face found once",
            look(k)
        );
        let at = u64::from(k) * FRAME_MS;
        let out = tracker.update(at, dets).unwrap();
        for e in &out {
            if let Event::Started { track, detection }
            | Event::Updated {
                track, detection, ..
            } = e
            {
                ids[owners[*detection]].push(*track);
            }
        }
        events.extend(out);
        frames.push(img);
    }
    for (p, s) in people.iter().zip(&seen) {
        eprintln!("{}: (frame, look, quality) {s:?}", p.name);
    }

    // Stable ids: each person one id in every frame, the two different.
    for (p, v) in people.iter().zip(&ids) {
        assert_eq!(v.len(), FRAMES as usize, "{}", p.name);
        assert!(v.iter().all(|&id| id == v[0]), "{}: {v:?}", p.name);
    }
    assert_ne!(ids[0][0], ids[1][0]);
    // Exactly two tracks, both confirmed, none ended before the stream ends.
    let count = |f: &dyn Fn(&Event<_>) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(&|e| matches!(e, Event::Started { .. })), 2);
    assert_eq!(count(&|e| matches!(e, Event::Confirmed { .. })), 2);
    assert_eq!(
        count(&|e| matches!(e, Event::Ended(_) | Event::Discarded { .. })),
        0
    );
    let ended: Vec<Ended<(u32, Face)>> = tracker
        .finish()
        .into_iter()
        .map(|e| match e {
            Event::Ended(x) => x,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ended.len(), 2);

    for end in ended {
        let owner = if end.track == ids[0][0] { 0 } else { 1 };
        let p = &people[owner];
        let (k, face) = &end.best.payload;
        assert_eq!(end.hits, FRAMES, "{}", p.name);
        assert_eq!(
            look(*k),
            Look::Sharp,
            "{}: best shot from frame {k}",
            p.name
        );
        let best_quality = seen[owner].iter().map(|s| s.2).fold(0.0, f32::max);
        assert_eq!(end.best.quality, best_quality);
        // Ties go to the earliest frame.
        let first_best = seen[owner]
            .iter()
            .find(|s| s.2 == best_quality)
            .map(|s| s.0);
        assert_eq!(Some(*k), first_best, "{}", p.name);
        assert_eq!(end.best.at_ms, u64::from(*k) * FRAME_MS);
        // The spoiled frames really scored lower, or "sharp" would prove nothing.
        for &(fk, l, q) in &seen[owner] {
            if l != Look::Sharp {
                assert!(
                    q < best_quality,
                    "{}: frame {fk} ({l:?}) scored {q}",
                    p.name
                );
            }
        }
        // The best shot is this person's face: same person as the source photo by the
        // API's score (50 and above), not the other.
        let d = engine
            .describe(&frames[*k as usize], std::slice::from_ref(face))
            .unwrap()
            .remove(0);
        let own = engine.compare(&d, &p.descriptor).unwrap().score;
        let other = engine
            .compare(&d, &people[1 - owner].descriptor)
            .unwrap()
            .score;
        eprintln!(
            "{}: best frame {k}, score {own:.1} (other {other:.1})",
            p.name
        );
        assert!(own >= 50.0 && other < 50.0, "{}: {own} / {other}", p.name);
    }
}
