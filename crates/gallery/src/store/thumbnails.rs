//! Face thumbnails (a small JPEG per face, shown by the web console) and the deployment's
//! setting that turns storing them off.
//!
//! A thumbnail lives and dies with its face: it is written in the transaction that
//! inserts the face (CreatePerson, CreateFace) and deleted in every transaction that
//! deletes faces (DeleteFace, DeletePerson, DeletePersonFromGroup of a person's last
//! group, DeleteGroup), always before the face rows, since the thumbnails of a person are
//! found through its faces.

use sqlx::{Any, Row, Transaction};

use super::{now_us, Store};
use crate::error::{GalleryError, Result};
use crate::ids::{AccountId, FaceId, PersonId};
use crate::limits::MAX_THUMBNAIL_BYTES;
use crate::model::NewFace;

/// The setting's row in `gallery_settings`; no row means on, the default.
const STORE_THUMBNAILS: &str = "store_thumbnails";

impl Store {
    /// Refuses a thumbnail too large to be one (a caller's mistake, checked before the
    /// transaction starts).
    pub(crate) fn check_thumbnail(&self, face: &NewFace) -> Result<()> {
        match &face.thumbnail {
            Some(bytes) if bytes.len() > MAX_THUMBNAIL_BYTES => {
                Err(GalleryError::ThumbnailTooLarge {
                    len: bytes.len(),
                    max: MAX_THUMBNAIL_BYTES,
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether enrolments store thumbnails, read from the database on every call (one
    /// primary-key read), so every node sharing it sees a change at once.
    pub(crate) async fn stores_thumbnails(&self) -> Result<bool> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM gallery_settings WHERE name = $1")
                .bind(STORE_THUMBNAILS)
                .fetch_optional(self.pool())
                .await?;
        setting_on(value)
    }

    pub(crate) async fn set_store_thumbnails(&self, on: bool) -> Result<()> {
        self.retry(|| async {
            sqlx::query(
                "INSERT INTO gallery_settings (name, value, updated_us) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value,
                    updated_us = excluded.updated_us",
            )
            .bind(STORE_THUMBNAILS)
            .bind(if on { "on" } else { "off" })
            .bind(now_us())
            .execute(self.pool())
            .await?;
            Ok(())
        })
        .await
    }

    /// Writes the thumbnails that come with new faces, in the faces' transaction, unless
    /// the setting is off. The setting is read inside the transaction, so a write stores
    /// thumbnails only under a setting that was on when it ran.
    pub(crate) async fn insert_thumbnails(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        faces: &[(&FaceId, &NewFace)],
    ) -> Result<()> {
        if faces.iter().all(|(_, f)| f.thumbnail.is_none()) {
            return Ok(());
        }
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM gallery_settings WHERE name = $1")
                .bind(STORE_THUMBNAILS)
                .fetch_optional(&mut **tx)
                .await?;
        if !setting_on(value)? {
            return Ok(());
        }
        for (id, face) in faces {
            if let Some(bytes) = &face.thumbnail {
                sqlx::query(
                    "INSERT INTO gallery_thumbnails (account_id, face_id, jpeg) VALUES ($1, $2, $3)",
                )
                .bind(account.as_str())
                .bind(id.as_str())
                .bind(bytes.as_slice())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Deletes the thumbnail of one face (before the face row).
    pub(crate) async fn delete_thumbnail(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        face: &FaceId,
    ) -> Result<()> {
        sqlx::query("DELETE FROM gallery_thumbnails WHERE account_id = $1 AND face_id = $2")
            .bind(account.as_str())
            .bind(face.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes the thumbnails of every face of `person` (before the face rows).
    pub(crate) async fn delete_person_thumbnails(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        person: &PersonId,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM gallery_thumbnails WHERE account_id = $1 AND face_id IN (
                SELECT face_id FROM gallery_faces WHERE account_id = $1 AND person_id = $2)",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The face's thumbnail, if one is stored; another account's face id finds none.
    pub(crate) async fn thumbnail(
        &self,
        account: &AccountId,
        face: &FaceId,
    ) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT jpeg FROM gallery_thumbnails WHERE account_id = $1 AND face_id = $2",
        )
        .bind(account.as_str())
        .bind(face.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("jpeg")?),
            None => None,
        })
    }
}

/// Reads the stored value of the setting; no row is the default, on.
fn setting_on(value: Option<String>) -> Result<bool> {
    match value.as_deref() {
        None | Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(GalleryError::Corrupt(format!(
            "{STORE_THUMBNAILS} is {other:?}, not on or off"
        ))),
    }
}
