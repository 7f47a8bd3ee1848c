//! Explorations and measurements run by hand, kept out of the test suite: each prints
//! figures quoted in the docs or writes files to look at, and none is a check.
//! `cargo run --example explore -- NAME` (a release build is faster: `--release`).

mod analyzer_load;
mod attribute_figures;
mod draw_ninety;
mod liveness_crops;
mod support;

const RUNS: &[(&str, fn(), &str)] = &[
    (
        "analyzer-load",
        analyzer_load::run,
        "Analyzer::load cold and cached; conversion vs cache hit per graph",
    ),
    (
        "attribute-figures",
        attribute_figures::run,
        "gender, age, emotion, sharpness and brightness figures on the calibration set",
    ),
    (
        "draw-90",
        draw_ninety::run,
        "the 90 points drawn on the fixtures into $MESH_DRAW_DIR",
    ),
    (
        "liveness-crops",
        liveness_crops::run,
        "raw liveness scores per crop of $RENLIAN_LIVENESS_LIST into $RENLIAN_LIVENESS_OUT",
    ),
];

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    match RUNS.iter().find(|(n, _, _)| *n == name) {
        Some((_, run, _)) => run(),
        None => {
            eprintln!("usage: cargo run --example explore -- NAME, where NAME is one of:");
            for (n, _, what) in RUNS {
                eprintln!("  {n:<18} {what}");
            }
            std::process::exit(2);
        }
    }
}
