//! Prints the C header of the crate in the directory given (its `cbindgen.toml` beside
//! its `Cargo.toml`): `sdk-c-header crates/sdk-c > crates/sdk-c/include/renlian_sdk.h`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: sdk-c-header CRATE_DIR");
        return ExitCode::from(2);
    };
    let config = match cbindgen::Config::from_file(dir.join("cbindgen.toml")) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("sdk-c-header: {}: {e}", dir.join("cbindgen.toml").display());
            return ExitCode::FAILURE;
        }
    };
    let bindings = match cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => bindings,
        Err(e) => {
            eprintln!("sdk-c-header: cbindgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = Vec::new();
    bindings.write(&mut out);
    match std::io::stdout().write_all(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sdk-c-header: writing the header: {e}");
            ExitCode::FAILURE
        }
    }
}
