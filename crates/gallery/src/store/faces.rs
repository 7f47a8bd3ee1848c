//! Faces: CreateFace, DeleteFace, and reading a person's descriptors back
//! (VerifyFace, VerifyPerson).

use sqlx::{Any, Row, Transaction};

use super::{descriptor_version_of, Store};
use crate::error::{GalleryError, Result};
use crate::ids::{AccountId, FaceId, PersonId};
use crate::limits::{Field, MAX_FACES_PER_PERSON, MAX_FACES_PER_UPLOAD};
use crate::model::{Descriptor, Face, FaceRect, NewFace};

impl Store {
    pub(crate) fn check_descriptor(&self, d: &Descriptor) -> Result<()> {
        if d.dim() != self.descriptor_dim() {
            return Err(GalleryError::Descriptor(format!(
                "{} components, the gallery stores {}",
                d.dim(),
                self.descriptor_dim()
            )));
        }
        Ok(())
    }

    pub(crate) async fn insert_face(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        person: &PersonId,
        face_id: &FaceId,
        face: &NewFace,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO gallery_faces (account_id, face_id, person_id, descriptor,
                rect_x, rect_y, rect_width, rect_height, created_us, descriptor_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(account.as_str())
        .bind(face_id.as_str())
        .bind(person.as_str())
        .bind(face.descriptor.to_bytes())
        .bind(face.rect.x)
        .bind(face.rect.y)
        .bind(face.rect.width)
        .bind(face.rect.height)
        .bind(now)
        .bind(i64::from(face.descriptor_version))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Adds faces to a person. The count check and the increment are one conditional
    /// UPDATE of the person row, so concurrent calls can never take a person past
    /// five faces: the row lock serialises them and each re-checks the condition.
    pub(crate) async fn create_faces(
        &self,
        account: &AccountId,
        person: &PersonId,
        faces: &[NewFace],
        request_id: Option<&str>,
    ) -> Result<Vec<FaceId>> {
        if faces.is_empty() || faces.len() > MAX_FACES_PER_UPLOAD {
            return Err(GalleryError::UploadFaceLimit {
                got: faces.len(),
                max: MAX_FACES_PER_UPLOAD,
            });
        }
        for f in faces {
            self.check_descriptor(&f.descriptor)?;
            self.check_thumbnail(f)?;
        }
        let ids: Vec<FaceId> = faces.iter().map(|_| FaceId::generate()).collect();
        self.retry(|| self.create_faces_once(account, person, faces, &ids, request_id))
            .await?;
        Ok(ids)
    }

    async fn create_faces_once(
        &self,
        account: &AccountId,
        person: &PersonId,
        faces: &[NewFace],
        ids: &[FaceId],
        request_id: Option<&str>,
    ) -> Result<()> {
        let adding = faces.len() as i64;
        let mut tx = self.begin_write().await?;
        if let Some(request_id) = request_id {
            self.record_enrolment(&mut tx, account, request_id).await?;
        }
        let updated = sqlx::query(
            "UPDATE gallery_persons SET face_count = face_count + $3
             WHERE account_id = $1 AND person_id = $2 AND face_count + $3 <= $4
             RETURNING face_count, descriptor_version",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .bind(adding)
        .bind(MAX_FACES_PER_PERSON as i64)
        .fetch_optional(&mut *tx)
        .await?;
        if updated.is_none() {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT face_count FROM gallery_persons WHERE account_id = $1 AND person_id = $2",
            )
            .bind(account.as_str())
            .bind(person.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match existing {
                None => GalleryError::PersonNotFound(person.to_string()),
                Some(n) => GalleryError::PersonFaceLimit {
                    existing: n.max(0) as usize,
                    adding: faces.len(),
                    max: MAX_FACES_PER_PERSON,
                },
            });
        }
        if let Some(row) = &updated {
            let version = descriptor_version_of(row)?;
            if let Some(face) = faces.iter().find(|f| f.descriptor_version != version) {
                return Err(GalleryError::DescriptorVersionMismatch {
                    what: format!("person {person}"),
                    expected: version,
                    other: "the new face".into(),
                    actual: face.descriptor_version,
                    hint: "describe the face with the person's version",
                });
            }
        }
        for group in self.person_group_ids(&mut tx, account, person).await? {
            self.bump_group(&mut tx, account, &group, &[person], 0, adding)
                .await?;
        }
        let now = super::now_us();
        for (face, id) in faces.iter().zip(ids) {
            self.insert_face(&mut tx, account, person, id, face, now)
                .await?;
        }
        let thumbnails: Vec<(&FaceId, &NewFace)> = ids.iter().zip(faces).collect();
        self.insert_thumbnails(&mut tx, account, &thumbnails)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes those of `face_ids` that belong to the person and returns them, in
    /// request order. Ids that are not the person's are ignored; when none is, the
    /// first one is reported as not found. The person keeps at least one face.
    pub(crate) async fn delete_faces(
        &self,
        account: &AccountId,
        person: &PersonId,
        face_ids: &[FaceId],
    ) -> Result<Vec<FaceId>> {
        if face_ids.is_empty() || face_ids.len() > MAX_FACES_PER_PERSON {
            return Err(GalleryError::TooMany {
                field: Field::FaceIds,
                len: face_ids.len(),
                max: MAX_FACES_PER_PERSON,
            });
        }
        self.retry(|| self.delete_faces_once(account, person, face_ids))
            .await
    }

    async fn delete_faces_once(
        &self,
        account: &AccountId,
        person: &PersonId,
        face_ids: &[FaceId],
    ) -> Result<Vec<FaceId>> {
        let mut tx = self.begin_write().await?;
        let count: Option<i64> = sqlx::query_scalar(
            "UPDATE gallery_persons SET face_count = face_count
             WHERE account_id = $1 AND person_id = $2 RETURNING face_count",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let count = count.ok_or_else(|| GalleryError::PersonNotFound(person.to_string()))?;
        let own: Vec<String> = sqlx::query_scalar(
            "SELECT face_id FROM gallery_faces WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut doomed: Vec<FaceId> = Vec::new();
        for id in face_ids {
            if own.iter().any(|o| o == id.as_str()) && !doomed.contains(id) {
                doomed.push(id.clone());
            }
        }
        if doomed.is_empty() {
            return Err(GalleryError::FaceNotFound(face_ids[0].to_string()));
        }
        if count - (doomed.len() as i64) < 1 {
            return Err(GalleryError::LastFace);
        }
        for id in &doomed {
            self.delete_thumbnail(&mut tx, account, id).await?;
            sqlx::query("DELETE FROM gallery_faces WHERE account_id = $1 AND face_id = $2")
                .bind(account.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let n = doomed.len() as i64;
        sqlx::query(
            "UPDATE gallery_persons SET face_count = face_count - $3
             WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .bind(n)
        .execute(&mut *tx)
        .await?;
        for group in self.person_group_ids(&mut tx, account, person).await? {
            self.bump_group(&mut tx, account, &group, &[person], 0, -n)
                .await?;
        }
        tx.commit().await?;
        Ok(doomed)
    }

    /// The version of the descriptors the person holds (and its new faces must have).
    pub(crate) async fn person_descriptor_version(
        &self,
        account: &AccountId,
        person: &PersonId,
    ) -> Result<u32> {
        let row = sqlx::query(
            "SELECT descriptor_version FROM gallery_persons
             WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| GalleryError::PersonNotFound(person.to_string()))?;
        descriptor_version_of(&row)
    }

    /// The person's faces with their descriptors, oldest first.
    pub(crate) async fn person_faces(
        &self,
        account: &AccountId,
        person: &PersonId,
    ) -> Result<Vec<Face>> {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM gallery_persons WHERE account_id = $1 AND person_id = $2",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_one(self.pool())
        .await?;
        if exists == 0 {
            return Err(GalleryError::PersonNotFound(person.to_string()));
        }
        let rows = sqlx::query(
            "SELECT face_id, descriptor, descriptor_version, rect_x, rect_y, rect_width,
                rect_height, created_us
             FROM gallery_faces WHERE account_id = $1 AND person_id = $2
             ORDER BY created_us, face_id",
        )
        .bind(account.as_str())
        .bind(person.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let bytes: Vec<u8> = r.try_get("descriptor")?;
                let created_us: i64 = r.try_get("created_us")?;
                Ok(Face {
                    face_id: FaceId::trusted(r.try_get("face_id")?),
                    person_id: person.clone(),
                    descriptor: Descriptor::from_bytes(&bytes)?,
                    descriptor_version: descriptor_version_of(r)?,
                    rect: FaceRect {
                        x: r.try_get("rect_x")?,
                        y: r.try_get("rect_y")?,
                        width: r.try_get("rect_width")?,
                        height: r.try_get("rect_height")?,
                    },
                    created_ms: created_us / 1000,
                })
            })
            .collect()
    }
}
