//! The runner's checks that need no database (the rest is in tests/it/migrate.rs).

use super::*;

const V1: &[&str] = &[
    "CREATE TABLE t_items (id {ID}, name TEXT NOT NULL UNIQUE)",
    "INSERT INTO t_items (name) VALUES ('first')",
];
const V2: &[&str] = &["ALTER TABLE t_items ADD COLUMN note TEXT"];

#[test]
fn bad_definitions_are_refused() {
    let ok = [Migration::new(1, V1), Migration::new(2, V2)];
    assert!(check("gallery", &ok).is_ok());
    assert!(check("api_v2", &ok).is_ok());
    for owner in ["", "Gallery", "1x", "a-b", "a;drop", "x y"] {
        assert!(check(owner, &ok).is_err(), "{owner:?}");
    }
    assert!(check("t", &[Migration::new(0, V1)]).is_err());
    assert!(check("t", &[Migration::new(2, V2), Migration::new(1, V1)]).is_err());
    assert!(check("t", &[Migration::new(1, V1), Migration::new(1, V2)]).is_err());
}

#[test]
fn lock_keys_differ_per_owner() {
    let keys: std::collections::HashSet<i64> = ["billing", "gallery", "api", "t"]
        .iter()
        .map(|o| lock_key(o))
        .collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(lock_key("gallery"), lock_key("gallery"));
}
