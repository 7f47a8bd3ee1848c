//! Integration tests of the sensor liveness checks on the fixture photos: honest spoofs
//! (frames with no face, flat and curved depth) and geometry rendered from the photos'
//! face meshes. Run one module with `cargo test --workspace --test it -- MODULE::`;
//! `-- --nocapture` prints every case's score.

mod common;
mod depth;
mod ir;
mod synth;
