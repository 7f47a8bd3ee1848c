//! One pass on several threads (`EngineConfig::inference_threads`, tract's
//! `multithread-mm`) gives the same faces and descriptors as one thread: tract splits
//! the work on whole output panels and rows, so every value is summed in the same order.
//! The one-thread engine is the one the parity tests hold to dlib. The comparison runs
//! in a build with vision's `multithread` feature; `bench/runtime` checks the same on
//! its workloads in every run.

use vision::Threads;
#[cfg(feature = "multithread")]
use {
    crate::common,
    vision::{Engine, EngineConfig},
};

#[cfg(feature = "multithread")]
#[test]
fn several_threads_give_the_same_faces_and_descriptors() {
    let env = common::env();
    let threaded = Engine::load(
        &common::store(),
        EngineConfig {
            inference_threads: 2,
            ..env.engine.config().clone()
        },
    )
    .unwrap();
    let mut faces = 0;
    for image in &env.reference.images {
        let img = env.dlib_pixels(&image.image);
        let one = env.engine.embed(&img).unwrap();
        let two = threaded.embed(&img).unwrap();
        assert_eq!(one, two, "{}", image.image);
        faces += one.len();
    }
    assert!(faces >= 4, "only {faces} faces compared");
}

#[test]
fn thread_counts_are_checked() {
    assert!(Threads::new(0).is_err());
    assert_eq!(Threads::new(1).unwrap().count(), 1);
    if cfg!(feature = "multithread") {
        assert_eq!(Threads::new(3).unwrap().count(), 3);
    } else {
        assert!(Threads::new(3).is_err());
    }
}
