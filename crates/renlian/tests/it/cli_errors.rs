//! The CLI fails as a Unix tool does: an ordinary error is one line on stderr and exit
//! status 1 even with `RUST_BACKTRACE` set, and output into a pipe whose reader has gone
//! ends the process by SIGPIPE, with nothing on stderr.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

fn renlian() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_renlian"));
    cmd.env_remove("RENLIAN_LOG")
        .env_remove("RENLIAN_DATABASE")
        .env("RUST_BACKTRACE", "1");
    cmd
}

#[test]
fn an_ordinary_error_is_one_line_without_a_backtrace() {
    let data = tempfile::tempdir().unwrap();
    let out = renlian()
        .arg("--data-dir")
        .arg(data.path())
        .args(["account", "topup", "999", "10"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end(), "error: no account with id 999");

    let out = renlian()
        .args(["detect", "/nonexistent/photo.jpg"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: reading /nonexistent/photo.jpg"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn debug_logging_shows_the_backtrace() {
    let data = tempfile::tempdir().unwrap();
    let out = renlian()
        .env("RENLIAN_LOG", "debug")
        .arg("--data-dir")
        .arg(data.path())
        .args(["account", "topup", "999", "10"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Stack backtrace"), "{stderr}");
}

#[test]
fn a_closed_pipe_ends_the_process_quietly() {
    // The reader goes away before the command prints (closing the pipe right after the
    // spawn wins against the process's start-up), as `renlian … | head -c 0` would.
    let mut child = renlian()
        .args([
            "quote",
            "postpaid",
            "--item",
            "landmarks",
            "--calls",
            "1000000",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // Killed by SIGPIPE (13 on Linux), as `cat` or `ls` would be; before, exit 101 and a panic.
    assert_eq!(out.status.signal(), Some(13), "{:?}", out.status);
}
