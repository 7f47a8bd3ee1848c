//! Any bytes into the decoder: it must return an image or a typed error, never panic,
//! and never exceed its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vision::{decode, DecodeLimits, VisionError};

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits {
        max_bytes: 1 << 20,
        max_pixels: 4_000_000,
        max_side: 4096,
    };
    match decode(data, &limits) {
        Ok(img) => {
            assert!(u64::from(img.width()) * u64::from(img.height()) <= limits.max_pixels);
            assert!(img.width() > 0 && img.height() > 0);
        }
        Err(VisionError::Model { .. } | VisionError::Inference { .. }) => {
            panic!("the decoder reported a model error")
        }
        Err(_) => {}
    }
});
