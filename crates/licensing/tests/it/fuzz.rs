//! The `cargo fuzz` entry points under proptest: random and mutated inputs never make
//! a parser or the verifier panic. A few thousand cases, seconds.

use licensing::fuzzing;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match *e {
            Edit::Flip(i, b) if !bytes.is_empty() => bytes[i % n] ^= b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % n);
            }
            Edit::Truncate(i) => bytes.truncate(i % n),
            Edit::Duplicate(i, len) if !bytes.is_empty() => {
                let start = i % n;
                let end = (start + len % 64).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(start..start, copy);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1200)) {
        fuzzing::parse_and_verify(&data);
        fuzzing::signed_payload(&data);
    }

    #[test]
    fn mutated_valid_inputs_never_panic(seed in 0usize..5, edits in proptest::collection::vec(edit(), 1..6)) {
        let seeds = fuzzing::seeds();
        let input = apply(seeds[seed % seeds.len()].clone(), &edits);
        fuzzing::parse_and_verify(&input);
    }

    /// Mutated claims, signed: reaches every check behind the signature.
    #[test]
    fn mutated_signed_claims_never_panic(edits in proptest::collection::vec(edit(), 1..4)) {
        let claims = br#"{"id":"L1","acct":1,"sdk":"search","feat":["detect","features","search"],"kind":"trial-device","bind":{"fp":{"os":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","dk":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},"k":1},"iat":1799999000,"nbf":1799999000,"exp":1802591000,"gen":1}"#;
        fuzzing::signed_payload(&apply(claims.to_vec(), &edits));
    }
}

#[test]
fn the_seeds_are_valid() {
    // The starting points must get past the parsers, or mutating them proves little.
    let seeds = fuzzing::seeds();
    assert_eq!(seeds.len(), 5);
    let verifier = licensing::Verifier::new([fuzzing::key().public()]);
    assert!(licensing::ActivationRequest::parse(&String::from_utf8_lossy(&seeds[0])).is_ok());
    assert!(verifier.open(&String::from_utf8_lossy(&seeds[1])).is_ok());
    assert!(verifier.open(&String::from_utf8_lossy(&seeds[2])).is_ok());
    assert!(verifier
        .open_revocation_list(&String::from_utf8_lossy(&seeds[3]))
        .is_ok());
}
