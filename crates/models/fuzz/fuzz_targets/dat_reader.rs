//! Arbitrary bytes into both dlib readers: they must return, never panic, and never
//! allocate more than the input justifies (libFuzzer's -rss_limit_mb catches that).
#![no_main]

use libfuzzer_sys::fuzz_target;
use models::dlib::{MmodOptions, Network, ShapePredictor};

fuzz_target!(|data: &[u8]| {
    let _ = ShapePredictor::parse(data);
    if let Ok(net) = Network::parse(data) {
        let _ = MmodOptions::from_network(&net);
    }
});
