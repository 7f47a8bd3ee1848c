//! `examples/c/flow.c`, compiled with the system `cc` against the built library, runs the
//! SDK's flow; every number it prints equals the Rust SDK's on the same photos, and it
//! runs clean under AddressSanitizer's leak checker.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sdk::{FaceSdk, Sdk};

use crate::support::*;

const PHOTOS: [&str; 3] = ["obama.jpg", "obama2.jpg", "biden.jpg"];

/// One licence file for the whole module: ir-liveness-search grants detect, features,
/// search and static liveness, and not quality (the refusal the program checks).
struct Setup {
    dir: tempfile::TempDir,
    licence: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let licence = device_licence(Sdk::IrLivenessSearch);
    std::fs::write(dir.path().join("device.lic"), &licence).expect("write the licence");
    Setup { dir, licence }
}

/// Runs the compiled program on the fixtures with a fresh data directory.
fn run(exe: &Path, setup: &Setup, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let data = tempfile::tempdir_in(setup.dir.path()).expect("data dir");
    let mut cmd = Command::new(exe);
    cmd.arg(setup.dir.path().join("device.lic"))
        .arg(trusted_key())
        .arg(model_dir())
        .arg(data.path())
        .arg(DEVICE);
    for name in PHOTOS {
        cmd.arg(fixtures().join(name));
    }
    // cargo's LD_LIBRARY_PATH, searched before the program's rpath, also names
    // target/<profile>, where an earlier `cargo build` may have left an older library.
    cmd.env("LD_LIBRARY_PATH", library_dir());
    cmd.args(extra).envs(env.iter().copied());
    cmd.output().expect("run the C program")
}

/// The program's lines, keyed by their first word(s).
struct Printed {
    lines: Vec<Vec<String>>,
}

impl Printed {
    fn parse(out: &Output) -> Printed {
        let text = String::from_utf8_lossy(&out.stdout);
        Printed {
            lines: text
                .lines()
                .map(|l| l.split(' ').map(str::to_owned).collect())
                .collect(),
        }
    }

    /// Every line starting with `key`, minus the key.
    fn all(&self, key: &[&str]) -> Vec<Vec<String>> {
        self.lines
            .iter()
            .filter(|l| l.len() >= key.len() && l.iter().zip(key).all(|(a, b)| a == b))
            .map(|l| l[key.len()..].to_vec())
            .collect()
    }

    fn one(&self, key: &[&str]) -> Vec<String> {
        let mut all = self.all(key);
        assert_eq!(all.len(), 1, "one line {key:?} expected");
        all.remove(0)
    }
}

fn f32s(words: &[String]) -> Vec<f32> {
    words.iter().map(|w| w.parse::<f32>().expect(w)).collect()
}

fn f64_of(word: &str) -> f64 {
    word.parse().expect(word)
}

fn compile_flow(out_dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    compile_c(&example("flow.c"), &out_dir.join(name), extra)
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "the C program failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks every printed result against the Rust SDK's.
fn assert_matches_rust(p: &Printed, rust: &FaceSdk) {
    let licence = p.one(&["licence"]);
    assert_eq!(licence[..3], ["c-abi-1", "ir-liveness-search", "device"]);
    // detect | ir-liveness | features | search, the RL_FEATURE_* bits.
    assert_eq!(licence[3], format!("features={}", 1 | 8 | 32 | 64));
    assert_eq!(licence[4..], ["expires=0", "days_left=-1"]);

    let mut descriptors = HashMap::new();
    for name in PHOTOS {
        let img = rust
            .decode(&std::fs::read(fixtures().join(name)).unwrap())
            .unwrap();
        let faces = rust.detect(&img).unwrap();
        assert_eq!(p.one(&["faces", name]), [faces.len().to_string()]);
        let printed = p.all(&["face", name]);
        assert_eq!(printed.len(), faces.len(), "{name}");
        for (i, (line, face)) in printed.iter().zip(&faces).enumerate() {
            let r = face.rect;
            let mut want = vec![
                i.to_string(),
                r.left.to_string(),
                r.top.to_string(),
                r.right.to_string(),
                r.bottom.to_string(),
            ];
            want.extend(face.landmarks.iter().map(|(x, y)| format!("{x},{y}")));
            let mut got = line.clone();
            let confidence = got.remove(5);
            assert_eq!(got, want, "{name} face {i}");
            assert_eq!(
                confidence.parse::<f32>().unwrap(),
                face.confidence,
                "{name} face {i}"
            );
        }
        let d = rust.descriptor(&img, &faces[0]).unwrap();
        assert_eq!(
            f32s(&p.one(&["descriptor", name])),
            d.0,
            "{name}: the descriptor"
        );
        let live = rust.liveness(&img, &faces[0]).unwrap();
        let line = p.one(&["liveness", name]);
        assert_eq!(f64_of(&line[0]), live.score, "{name}: liveness");
        let verdict = if live.score >= vision::liveness::RECOMMENDED_THRESHOLD {
            "live"
        } else {
            "spoof"
        };
        assert_eq!(line[1], verdict);
        descriptors.insert(name, d);
    }
    for other in ["obama2.jpg", "biden.jpg"] {
        let c = rust
            .compare(&descriptors["obama.jpg"].0, &descriptors[other].0)
            .unwrap();
        let line = p.one(&["compare", "obama.jpg", other]);
        assert_eq!(
            (f64_of(&line[0]), f64_of(&line[1])),
            (c.distance, c.score),
            "{other}"
        );
    }
    // The gallery: the same hits, distances and scores as the Rust SDK's gallery.
    let key: [u8; 32] = std::array::from_fn(|k| (7 * k + 1) as u8);
    let gallery = rust.gallery(&key).expect("the Rust gallery");
    gallery
        .add("person-a", &descriptors["obama.jpg"].0, None, None)
        .unwrap();
    gallery
        .add("person-b", &descriptors["biden.jpg"].0, None, None)
        .unwrap();
    let want = gallery.search(&descriptors["obama2.jpg"].0, 4).unwrap();
    let added = p.one(&["added"]);
    let hits = p.all(&["hit", "obama2.jpg"]);
    assert_eq!(hits.len(), want.len());
    assert_eq!(want[0].person_id, "person-a");
    for (i, (got, want)) in hits.iter().zip(&want).enumerate() {
        assert_eq!(got[0], i.to_string());
        assert_eq!(got[1], want.person_id);
        let id_of = |person: &str| &added[added.iter().position(|w| w == person).unwrap() + 1];
        assert_eq!(&got[2], id_of(&want.person_id), "the id the C add returned");
        assert_eq!(
            got[3].parse::<f32>().unwrap(),
            want.distance,
            "{}",
            want.person_id
        );
        assert_eq!(f64_of(&got[4]), want.score, "{}", want.person_id);
    }
    assert_eq!(
        p.all(&["pixels", "obama.jpg"]),
        [["rgb24", "same"], ["bgr24", "same"], ["rgba32", "same"]]
    );

    // The error paths: the codes, and the Rust SDK's own messages.
    let img = rust
        .decode(&std::fs::read(fixtures().join("obama.jpg")).unwrap())
        .unwrap();
    let face = rust.detect(&img).unwrap().remove(0);
    let refusal = rust.quality(&img, &face).unwrap_err();
    let line = p.one(&["refused", "quality"]);
    assert_eq!(line[..2], ["5", "FeatureNotLicensed"]);
    assert_eq!(line[2..].join(" "), refusal.to_string());
    assert!(refusal.to_string().contains("quality"), "{refusal}");
    let bad = rust.decode(b"not an image").unwrap_err();
    let line = p.one(&["bad-image"]);
    assert_eq!(line[..2], ["7", "Image"]);
    assert_eq!(line[2..].join(" "), bad.to_string());
    assert_eq!(p.one(&["short-pixels"])[..2], ["7", "Image"]);
    assert_eq!(p.one(&["no-face"]), ["8", "NoFace"]);
    let line = p.one(&["null-count"]);
    assert_eq!(line[..2], ["1", "InvalidArgument"]);
    assert_eq!(line[2..].join(" "), "the count of faces is null");
    let small = p.one(&["small-message"]);
    assert_eq!(small[0], "the count of faces is null".len().to_string());
    assert_eq!(small[1], "7");
    assert_eq!(p.one(&["small-list"]), ["0", "1"]);
    assert_eq!(p.one(&["done"]), ["0"]);
}

#[test]
fn the_c_flow_gives_the_rust_sdks_results() {
    let setup = setup();
    let exe = compile_flow(setup.dir.path(), "flow", &[]);
    let out = run(&exe, &setup, &[], &[]);
    assert_success(&out);
    let (_data, rust) = rust_sdk(&setup.licence);
    assert_matches_rust(&Printed::parse(&out), &rust);
}

/// AddressSanitizer instruments the C program and intercepts malloc for the whole
/// process, so the library's Rust allocations (the system allocator) are checked for
/// leaks too. The program leaking on purpose proves the checker sees them.
#[test]
fn the_c_flow_leaks_nothing_under_addresssanitizer() {
    let setup = setup();
    let exe = compile_flow(
        setup.dir.path(),
        "flow-asan",
        &["-fsanitize=address", "-fno-omit-frame-pointer"],
    );
    let env = [("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")];
    let out = run(&exe, &setup, &[], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Sanitizer"),
        "AddressSanitizer reported:\n{stderr}"
    );
    assert_success(&out);
    assert_eq!(Printed::parse(&out).one(&["done"]), ["0"]);

    let out = run(&exe, &setup, &["--leak-on-purpose"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a leak must fail the run");
    // The leaked config was allocated by Rust's allocator inside the library (the
    // library has no frame pointers, so the stack names `alloc`, not `rl_config_new`).
    assert!(
        stderr.contains("LeakSanitizer: detected memory leaks")
            && stderr.contains("Direct leak of")
            && stderr.contains("alloc/src/alloc.rs"),
        "the checker missed the library's leaked config:\n{stderr}"
    );
}
