#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    licensing::fuzzing::parse_and_verify(data);
});
