#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    licensing::fuzzing::signed_payload(data);
});
