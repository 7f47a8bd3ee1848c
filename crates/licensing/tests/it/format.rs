//! The file format: round trip, size, tampering, versions, keys, block types.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use licensing::{
    Feature, IssuerKey, LicenceKind, RevocationList, Sdk, Status, Subject, Verifier, VerifyError,
};

use crate::support::*;

#[test]
fn a_device_licence_round_trips_and_fits_a_qr_code() {
    let claims = device_claims(Sdk::IrLivenessSearch);
    let text = issue(&claims);
    let ok = check(
        &text,
        T0 + DAY,
        &Subject::device(device()),
        &[Feature::IrLiveness],
    )
    .expect("valid");
    assert_eq!(ok.claims(), &claims);
    assert_eq!(ok.licence().key_id, issuer().id());
    assert_eq!(ok.status(), Status::Valid { days_left: None });
    assert_eq!(ok.features(), Sdk::IrLivenessSearch.features());
    assert_eq!(ok.claims().kind, LicenceKind::Device);
    // Byte budget: a QR code of version 20 at level M holds 666 bytes.
    assert!(text.len() <= 666, "{} bytes\n{text}", text.len());
    let platform = issue(&platform_claims(Sdk::Detect, Some(cert())));
    assert!(platform.len() < 600, "{} bytes\n{platform}", platform.len());
    println!(
        "device licence {} bytes, platform licence {} bytes\n{text}",
        text.len(),
        platform.len()
    );
}

#[test]
fn any_flipped_bit_anywhere_in_the_file_is_refused() {
    let text = issue(&device_claims(Sdk::Search));
    let subject = Subject::device(device());
    let mut refused = 0;
    for i in 0..text.len() {
        for bit in 0..8 {
            let mut bytes = text.clone().into_bytes();
            bytes[i] ^= 1 << bit;
            let Ok(flipped) = String::from_utf8(bytes) else {
                continue;
            };
            let r = check(&flipped, T0 + DAY, &subject, &[]);
            assert!(r.is_err(), "byte {i} bit {bit} accepted:\n{flipped}");
            refused += 1;
        }
    }
    // Every flip of bits 0-6 keeps the text ASCII; bit 7 never gives UTF-8.
    assert_eq!(refused, 7 * text.len());
}

/// Each payload and signature byte flipped, the rest re-encoded properly: the signature
/// check (not the parser) refuses it.
#[test]
fn tampered_payload_or_signature_is_a_bad_signature() {
    let text = issue(&device_claims(Sdk::Search));
    let body = body(&text);
    let parts: Vec<&str> = body.split('.').collect();
    let payload = URL_SAFE_NO_PAD.decode(parts[2]).expect("payload");
    let signature = URL_SAFE_NO_PAD.decode(parts[3]).expect("signature");
    let subject = Subject::device(device());
    let rebuild = |p: &[u8], s: &[u8]| {
        let b = format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(p),
            URL_SAFE_NO_PAD.encode(s)
        );
        rearmour(&text, &b)
    };
    for i in 0..payload.len() {
        let mut p = payload.clone();
        p[i] ^= 0x01;
        let r = check(&rebuild(&p, &signature), T0, &subject, &[]);
        assert_eq!(
            r.err(),
            Some(VerifyError::BadSignature { what: "licence" }),
            "payload byte {i}"
        );
    }
    for i in 0..signature.len() {
        let mut s = signature.clone();
        s[i] ^= 0x80;
        let r = check(&rebuild(&payload, &s), T0, &subject, &[]);
        assert_eq!(
            r.err(),
            Some(VerifyError::BadSignature { what: "licence" }),
            "signature byte {i}"
        );
    }
    let err = VerifyError::BadSignature { what: "licence" }.to_string();
    assert_eq!(
        err,
        "licence signature does not match its contents: the file was altered or damaged"
    );
}

#[test]
fn wrapping_crlf_surrounding_text_and_the_bare_body_still_verify() {
    let text = issue(&device_claims(Sdk::Detect));
    let subject = Subject::device(device());
    let b = body(&text);
    let variants = [
        text.replace('\n', "\r\n"),
        format!("Your licence:\n\n{text}\nKeep it safe.\n"),
        b.clone(),
        rearmour(
            &text,
            &b.chars()
                .collect::<Vec<_>>()
                .chunks(20)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    for v in variants {
        assert!(check(&v, T0, &subject, &[]).is_ok(), "{v}");
    }
}

#[test]
fn versions_keys_and_block_types() {
    let text = issue(&device_claims(Sdk::Detect));
    let subject = Subject::device(device());
    let v2 = text.replacen("\nv1.", "\nv2.", 1);
    assert_eq!(
        check(&v2, T0, &subject, &[]).err(),
        Some(VerifyError::UnsupportedVersion {
            what: "licence",
            found: "v2".into()
        })
    );
    let other = IssuerKey::from_secret_bytes(&[1; 32]);
    let foreign = other.issue(&device_claims(Sdk::Detect)).expect("issue");
    assert_eq!(
        check(&foreign, T0, &subject, &[]).err(),
        Some(VerifyError::UnknownKey {
            what: "licence",
            key_id: other.id()
        })
    );
    // A licence signed by a trusted key but claiming another key's id.
    let swapped = text.replacen(&issuer().id().to_hex(), &other.id().to_hex(), 1);
    let both = Verifier::new([issuer().public(), other.public()]);
    let cx_state = licensing::DeviceState::default();
    let cx = licensing::Context {
        now: T0,
        subject: &subject,
        features: &[],
        state: &cx_state,
    };
    assert_eq!(
        both.verify(&swapped, &cx).err(),
        Some(VerifyError::BadSignature { what: "licence" })
    );
    // A revocation list is no licence, armoured or bare.
    let list = issuer()
        .sign_revocation_list(&RevocationList {
            seq: 1,
            issued: T0,
            revoked: vec![],
        })
        .expect("list");
    assert!(matches!(
        check(&list, T0, &subject, &[]),
        Err(VerifyError::Malformed { .. })
    ));
    assert_eq!(
        check(&body(&list), T0, &subject, &[]).err(),
        Some(VerifyError::BadSignature { what: "licence" })
    );
    // Nor is a licence a revocation list.
    assert_eq!(
        verifier().open_revocation_list(&body(&text)).err(),
        Some(VerifyError::BadSignature {
            what: "revocation list"
        })
    );
    assert!(matches!(
        check("", T0, &subject, &[]),
        Err(VerifyError::Malformed { .. })
    ));
    let msg = check("hello", T0, &subject, &[])
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        msg.as_deref(),
        Some("licence is malformed: does not start with a format version (v1.)")
    );
}

#[test]
fn features_this_sdk_does_not_know_are_ignored() {
    // A newer server may grant features an older SDK build has never heard of.
    let claims = device_claims(Sdk::Detect);
    let json = serde_json::to_string(&claims)
        .expect("json")
        .replace(r#""feat":["detect""#, r#""feat":["hologram","detect""#);
    let key = issuer();
    let signed = sign_raw(&key, json.as_bytes());
    let ok = check(&signed, T0, &Subject::device(device()), &[Feature::Detect]).expect("valid");
    assert_eq!(ok.features(), Sdk::Detect.features());
}

/// Signs arbitrary payload bytes as a licence (the issuer API only signs valid claims),
/// written from the format's definition in docs/licensing.md rather than the crate's code.
fn sign_raw(key: &IssuerKey, payload: &[u8]) -> String {
    // Same construction as the crate: domain ‖ key id ‖ "\n" ‖ payload.
    use ed25519_dalek::{Signer, SigningKey};
    let signing = SigningKey::from_bytes(&key.secret_bytes());
    let mut message = b"renlian licence v1\n".to_vec();
    message.extend_from_slice(key.id().to_hex().as_bytes());
    message.push(b'\n');
    message.extend_from_slice(payload);
    let sig = signing.sign(&message).to_bytes();
    format!(
        "v1.{}.{}.{}",
        key.id(),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(sig)
    )
}
