//! Text encodings shared by the licence, the revocation list, the activation request and
//! the state file: unpadded base64url (RFC 4648 §5, strict: no padding, no stray bits),
//! lowercase hex, and the armour lines around a block.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serializer};

/// Longest text any parser here reads; anything longer is refused before work is done.
pub const MAX_TEXT: usize = 16 * 1024;

/// Body characters per armour line when writing (readers take any wrapping).
const LINE: usize = 64;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Hex digits (either case) into exactly `N` bytes.
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// `-----BEGIN {label}-----`, the body in lines of 64, `-----END {label}-----`, each
/// line ending in `\n`. The body is ASCII.
pub(crate) fn armour(label: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / LINE + 2 * label.len() + 32);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for (i, c) in body.chars().enumerate() {
        if i > 0 && i % LINE == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push_str("\n-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The body of an armoured block, whitespace removed. Text around the block is ignored;
/// a text with no `-----BEGIN ` line at all is taken as a bare body. The body may only
/// hold the characters of base64url and `.`.
pub(crate) fn unarmour(label: &str, text: &str) -> Result<String, String> {
    if text.len() > MAX_TEXT {
        return Err(format!("longer than {MAX_TEXT} bytes"));
    }
    let body: String = if text.contains("-----BEGIN ") {
        let mut lines = text
            .lines()
            .map(|l| l.trim_matches(|c: char| c.is_ascii_whitespace()));
        let begin = lines
            .find(|l| l.starts_with("-----BEGIN "))
            .unwrap_or_default();
        let found = begin
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
            .ok_or("damaged BEGIN line")?;
        if found != label {
            return Err(format!("a {found} block, not a {label}"));
        }
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut ended = false;
        for line in lines {
            if line == end {
                ended = true;
                break;
            }
            body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
        }
        if !ended {
            return Err(format!("no {end} line"));
        }
        body
    } else {
        text.chars().filter(|c| !c.is_ascii_whitespace()).collect()
    };
    if body.is_empty() {
        return Err("empty".into());
    }
    if let Some(c) = body
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!("unexpected character {c:?}"));
    }
    Ok(body)
}

/// The format version of a body's first `.`-separated part: `Ok(())` for `v1`,
/// `Err(Some(found))` for another `v<digits>`, `Err(None)` for anything else.
pub(crate) fn check_version(first: &str) -> Result<(), Option<String>> {
    if first == "v1" {
        return Ok(());
    }
    match first.strip_prefix('v') {
        Some(n) if !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()) => {
            Err(Some(first.to_owned()))
        }
        _ => Err(None),
    }
}

/// serde: `[u8; 32]` as unpadded base64url.
pub(crate) mod b64_32 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        unb64(&text)
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| serde::de::Error::custom("expected 32 bytes in base64url"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex::<3>("00ABff"), Some([0, 0xab, 0xff]));
        assert_eq!(unhex::<3>("00abf"), None);
        assert_eq!(unhex::<2>("0g00"), None);
        assert_eq!(unhex::<1>("é"), None);
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(b64(b"ab"), "YWI");
        assert_eq!(unb64("YWI"), Some(b"ab".to_vec()));
        // Padding, the standard alphabet and non-zero unused bits are all refused.
        assert_eq!(unb64("YWI="), None);
        assert_eq!(unb64("YW+"), None);
        assert_eq!(unb64("YWJ"), None);
    }

    #[test]
    fn armour_round_trip_and_refusals() {
        let body = "v1.".to_string() + &"x".repeat(150);
        let text = armour("RENLIAN LICENCE", &body);
        assert!(text
            .lines()
            .all(|l| l.len() <= 64 || l.starts_with("-----")));
        assert_eq!(unarmour("RENLIAN LICENCE", &text), Ok(body.clone()));
        // Around text, CRLF and re-wrapping are fine; so is the bare body.
        let wrapped = format!("Dear customer,\r\n{}\r\nthanks", text.replace('\n', "\r\n"));
        assert_eq!(unarmour("RENLIAN LICENCE", &wrapped), Ok(body.clone()));
        assert_eq!(unarmour("RENLIAN LICENCE", &format!(" {body}\n")), Ok(body));
        assert_eq!(
            unarmour(
                "RENLIAN LICENCE",
                &armour("RENLIAN REVOCATION LIST", "v1.a")
            ),
            Err("a RENLIAN REVOCATION LIST block, not a RENLIAN LICENCE".into())
        );
        assert!(unarmour("X", "-----BEGIN X-----\nv1.a\n").is_err());
        assert!(unarmour("X", "v1.a+b").is_err());
        assert!(unarmour("X", "  ").is_err());
        assert!(unarmour("X", &"a".repeat(MAX_TEXT + 1)).is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(check_version("v1"), Ok(()));
        assert_eq!(check_version("v2"), Err(Some("v2".into())));
        assert_eq!(check_version("v"), Err(None));
        assert_eq!(check_version("x1"), Err(None));
        assert_eq!(check_version("v1x"), Err(None));
    }
}
