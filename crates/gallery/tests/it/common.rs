//! Test databases: a temporary SQLite file, and a fresh PostgreSQL schema per test
//! (URL in RENLIAN_TEST_POSTGRES), dropped when the test ends.
#![allow(dead_code)]

use gallery::synthetic::Synthetic;
use gallery::*;
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;

pub const DIM: usize = 128;

pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { base: String, schema: String },
}

impl Db {
    pub fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!("sqlite://{}/gallery.db?mode=rwc", dir.path().display()),
            Db::Postgres { base, schema } => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-csearch_path%3D{schema}")
            }
        }
    }

    pub async fn pool(&self) -> AnyPool {
        AnyPoolOptions::new()
            .max_connections(16)
            .connect(&self.url())
            .await
            .unwrap()
    }

    pub async fn gallery(&self) -> Gallery {
        self.gallery_with(GalleryConfig::default()).await
    }

    pub async fn gallery_with(&self, config: GalleryConfig) -> Gallery {
        Gallery::open(self.pool().await, config).await.unwrap()
    }

    pub async fn drop_db(self) {
        if let Db::Postgres { base, schema } = &self {
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(base)
                .await
                .unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

pub async fn sqlite() -> Db {
    install_default_drivers();
    Db::Sqlite(tempfile::tempdir().unwrap())
}

pub async fn postgres() -> Db {
    install_default_drivers();
    let base = std::env::var("RENLIAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("t_gallery_{:016x}", rand_u64());
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("PostgreSQL for tests (RENLIAN_TEST_POSTGRES)");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    Db::Postgres { base, schema }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// Runs `body` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($db:ident => $body:block) => {{
        for owned in [common::sqlite().await, common::postgres().await] {
            eprintln!("-- on {}", owned.name());
            {
                let $db = &owned;
                $body
            }
            owned.drop_db().await;
        }
    }};
}

/// The descriptor version the api gives new groups today (`vision`'s
/// `DescriptorVersion::LATEST`); the gallery only stores and matches the number.
pub const LATEST_DESCRIPTOR: u32 = 2;

pub fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

pub fn gid(s: &str) -> GroupId {
    GroupId::new(s).unwrap()
}

pub fn pid(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

pub fn new_group(id: &str, name: &str, fields: &[&str]) -> NewGroup {
    NewGroup {
        group_id: gid(id),
        name: name.to_string(),
        tag: String::new(),
        ex_descriptions: fields.iter().map(|s| s.to_string()).collect(),
        face_model_version: FaceModelVersion::V3,
        descriptor_version: LATEST_DESCRIPTOR,
    }
}

pub fn face(values: Vec<f32>) -> NewFace {
    NewFace {
        descriptor: Descriptor::new(values).unwrap(),
        descriptor_version: LATEST_DESCRIPTOR,
        rect: FaceRect {
            x: 10,
            y: 20,
            width: 100,
            height: 120,
        },
        thumbnail: None,
    }
}

/// A descriptor that is `value` in every component.
pub fn flat(value: f32) -> NewFace {
    face(vec![value; DIM])
}

pub fn new_person(group: &str, id: &str, f: Option<NewFace>) -> NewPerson {
    NewPerson {
        group_id: gid(group),
        person_id: pid(id),
        name: format!("name_{id}"),
        gender: Gender::Unset,
        ex_descriptions: Vec::new(),
        face: f,
    }
}

pub fn synthetic(seed: u64) -> Synthetic {
    Synthetic::new(DIM, seed)
}
