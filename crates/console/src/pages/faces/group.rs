//! One person group: its persons with their faces as thumbnails, enrolment by upload
//! (one photo, or a zip of `person/photo.jpg`), deleting a person, moving a person to
//! another group. Enrolment is billed: CreatePerson and CreateFace go through the API's
//! action path and are metered as calls of the `person` item.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use minijinja::context;
use serde_json::json;

use super::groups::group_choices;
use super::upload::{self, PersonPhotos, Photo, UploadError};
use super::{audit_operator, base64, call, gallery_account, Outcome};
use crate::error::ConsoleError;
use crate::pages::{see_other, url_encode};
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/a/{account}/groups/{group}", get(show))
        .route(
            "/a/{account}/groups/{group}/enrol",
            get(back_to_group)
                .post(enrol)
                .layer(DefaultBodyLimit::max(super::UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/a/{account}/groups/{group}/persons/{person}/delete",
            get(back_to_group_of_person).post(delete_person),
        )
        .route(
            "/a/{account}/groups/{group}/persons/{person}/move",
            get(back_to_group_of_person).post(move_person),
        )
}

/// A GET of a form's address (the language switch on a page re-rendered after a
/// refused form returns there) goes back to the group's page.
async fn back_to_group(Path((account, group)): Path<(i64, String)>) -> Response {
    see_other(&group_path(account, &group))
}

async fn back_to_group_of_person(
    Path((account, group, _)): Path<(i64, String, String)>,
) -> Response {
    see_other(&group_path(account, &group))
}

/// Persons shown per page of a group.
const PAGE: i64 = 100;

/// The account's group `group`, or "not found" (another account's id included).
pub async fn find_group(
    console: &Console,
    account: i64,
    group: &str,
) -> Result<gallery::Group, ConsoleError> {
    let Ok(id) = gallery::GroupId::new(group) else {
        return Err(ConsoleError::NotFound);
    };
    match console
        .app
        .gallery
        .group(&gallery_account(account)?, &id)
        .await
    {
        Ok(g) => Ok(g),
        Err(gallery::GalleryError::GroupNotFound(_)) => Err(ConsoleError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Serialize)]
struct FaceView {
    id: String,
    /// Whether a thumbnail is stored (else the page says so in its place).
    thumbnail: bool,
}

#[derive(serde::Serialize)]
struct PersonView {
    id: String,
    /// The person's path under the group, for its forms.
    path: String,
    name: String,
    faces: Vec<FaceView>,
    created_ms: i64,
}

#[derive(serde::Deserialize, Default)]
struct ShowQuery {
    done: Option<String>,
    offset: Option<i64>,
    persons: Option<u64>,
    faces: Option<u64>,
}

/// What an enrolment did, person by person, for the page.
#[derive(Debug, Default, serde::Serialize)]
struct Report {
    persons_created: u64,
    faces_added: u64,
    /// Billed calls (CreatePerson and CreateFace) and their RequestIds.
    billed_calls: u64,
    request_ids: Vec<String>,
    failures: Vec<Failure>,
    seconds: f64,
}

#[derive(Debug, serde::Serialize)]
struct Failure {
    person: String,
    photo: String,
    error: String,
}

/// The page's optional parts: a message after a redirect, an error, an enrolment report.
#[derive(Default)]
struct Extra {
    done: Option<String>,
    counts: (Option<u64>, Option<u64>),
    error: Option<String>,
    report: Option<Report>,
    offset: i64,
}

async fn render(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    group: gallery::Group,
    extra: Extra,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let gallery = &console.app.gallery;
    let gaccount = gallery_account(account)?;
    let offset = extra.offset.max(0);
    let list = gallery
        .list_persons(&gaccount, &group.group_id, Some(offset), Some(PAGE))
        .await?;
    let mut persons = Vec::with_capacity(list.members.items.len());
    for m in list.members.items {
        let mut faces = Vec::with_capacity(m.person.face_ids.len());
        for f in &m.person.face_ids {
            faces.push(FaceView {
                id: f.as_str().to_owned(),
                thumbnail: gallery.thumbnail(&gaccount, f).await?.is_some(),
            });
        }
        persons.push(PersonView {
            path: format!(
                "{}/persons/{}",
                group_path(account, group.group_id.as_str()),
                url_encode(m.person.person_id.as_str())
            ),
            id: m.person.person_id.as_str().to_owned(),
            name: m.person.name,
            faces,
            created_ms: m.person.created_ms,
        });
    }
    let others: Vec<_> = group_choices(console, account)
        .await?
        .into_iter()
        .filter(|g| g.id != group.group_id.as_str())
        .collect();
    let total = list.members.total;
    let mut r = page(
        console,
        viewer,
        "group.html",
        "groups",
        Some(account),
        context! {
            group => context! {
                id => group.group_id.as_str(),
                path => group_path(account, group.group_id.as_str()),
                name => group.name,
                persons => group.person_count,
                faces => group.face_count,
                version => group.face_model_version.as_str(),
                created_ms => group.created_ms,
            },
            persons => persons,
            others => others,
            offset => offset,
            page_size => PAGE,
            total => total,
            prev => (offset > 0).then(|| (offset - PAGE).max(0)),
            next => ((offset + PAGE) < total as i64).then_some(offset + PAGE),
            done => extra.done,
            done_persons => extra.counts.0,
            done_faces => extra.counts.1,
            error => extra.error,
            report => extra.report,
            limits => context! {
                zip_mib => upload::MAX_ZIP_BYTES / (1024 * 1024),
                entries => upload::MAX_ZIP_ENTRIES,
                entry_mib => upload::MAX_ENTRY_BYTES / (1024 * 1024),
                photos => upload::MAX_PHOTOS_PER_PERSON,
            },
        },
    )?;
    *r.status_mut() = status;
    Ok(r)
}

async fn show(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, group)): Path<(i64, String)>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let group = find_group(&console, account, &group).await?;
    let extra = Extra {
        done: q.done,
        counts: (q.persons, q.faces),
        offset: q.offset.unwrap_or(0),
        ..Extra::default()
    };
    render(&console, &viewer, account, group, extra, StatusCode::OK).await
}

/// A group page's path; ids may hold `%`, `#`, `&`, `@`, so they are encoded.
pub fn group_path(account: i64, group: &str) -> String {
    format!("{}/a/{account}/groups/{}", crate::BASE, url_encode(group))
}

/// The enrolment form: `file` (a photo or a zip), `person_id` and `person_name` (for a
/// single photo).
struct EnrolForm {
    file: Vec<u8>,
    file_name: String,
    person_id: String,
    person_name: String,
}

async fn read_enrol_form(mut multipart: Multipart) -> Result<EnrolForm, UploadError> {
    let mut form = EnrolForm {
        file: Vec::new(),
        file_name: String::new(),
        person_id: String::new(),
        person_name: String::new(),
    };
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| UploadError::Form(e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "file" => {
                form.file_name = field.file_name().unwrap_or("").to_owned();
                form.file = upload::read_field(&mut field, upload::MAX_ZIP_BYTES).await?;
            }
            "person_id" => {
                let v = upload::read_field(&mut field, 1024).await?;
                form.person_id = String::from_utf8_lossy(&v).trim().to_owned();
            }
            "person_name" => {
                let v = upload::read_field(&mut field, 1024).await?;
                form.person_name = String::from_utf8_lossy(&v).trim().to_owned();
            }
            // Anything else (the CSRF token travels in the query) is read and dropped.
            _ => {
                upload::read_field(&mut field, 1024).await?;
            }
        }
    }
    if form.file.is_empty() {
        return Err(UploadError::NoFile);
    }
    Ok(form)
}

/// Enrols the upload: a zip (one person per top-level folder, the folder name as
/// PersonId and name) or one photo (the form's PersonId and name). A zip is checked
/// whole first; a refused upload enrols nothing.
async fn enrol(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, group_id)): Path<(i64, String)>,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let group = find_group(&console, account, &group_id).await?;
    let refuse = |error: String| Extra {
        error: Some(error),
        ..Extra::default()
    };
    let form = match read_enrol_form(multipart).await {
        Ok(f) => f,
        Err(e) => {
            let extra = refuse(e.to_string());
            return render(
                &console,
                &viewer,
                account,
                group,
                extra,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let persons = if upload::is_zip(&form.file) {
        match upload::read_zip(&form.file) {
            Ok(p) => p,
            Err(e) => {
                let extra = refuse(format!("{}: {e}", form.file_name));
                return render(
                    &console,
                    &viewer,
                    account,
                    group,
                    extra,
                    StatusCode::BAD_REQUEST,
                )
                .await;
            }
        }
    } else if upload::sniff(&form.file).is_none() {
        let extra = refuse(UploadError::NotPhoto.to_string());
        return render(
            &console,
            &viewer,
            account,
            group,
            extra,
            StatusCode::BAD_REQUEST,
        )
        .await;
    } else {
        // One photo: the form names the person (the name defaults to the id).
        let name = if form.person_name.is_empty() {
            form.person_id.clone()
        } else {
            form.person_name
        };
        vec![PersonPhotos {
            person_id: form.person_id,
            name,
            photos: vec![Photo {
                name: form.file_name,
                bytes: form.file,
            }],
        }]
    };
    let photos: usize = persons.iter().map(|p| p.photos.len()).sum();
    audit_operator(
        &console,
        &viewer,
        account,
        "groups.enrol",
        &format!("{} persons, {photos} photos into {group_id}", persons.len()),
    )
    .await?;
    let started = Instant::now();
    let mut report = enrol_all(&console, &viewer, account, &group, persons).await;
    report.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    tracing::info!(
        account,
        group = group.group_id.as_str(),
        persons = report.persons_created,
        faces = report.faces_added,
        failures = report.failures.len(),
        seconds = report.seconds,
        "console enrolment"
    );
    if report.failures.is_empty() {
        return Ok(see_other(&format!(
            "{}?done=enrolled&persons={}&faces={}",
            group_path(account, group.group_id.as_str()),
            report.persons_created,
            report.faces_added
        )));
    }
    let status = if report.billed_calls == 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // The counts changed: read the group again.
    let group = find_group(&console, account, group.group_id.as_str()).await?;
    let extra = Extra {
        report: Some(report),
        ..Extra::default()
    };
    render(&console, &viewer, account, group, extra, status).await
}

/// Persons enrolled at once: each call's image work runs on a blocking thread, so a few
/// persons side by side use the cores a single call leaves idle (on two cores, six
/// full-size photos took 38 s one by one).
fn parallel_enrolments() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4)
}

/// Enrols every person, a few at a time; the report lists them in upload order. The
/// tasks finish even if the browser goes away, so what was billed is also stored.
async fn enrol_all(
    console: &Arc<Console>,
    viewer: &Viewer,
    account: i64,
    group: &gallery::Group,
    persons: Vec<PersonPhotos>,
) -> Report {
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel_enrolments()));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, person) in persons.into_iter().enumerate() {
        let (console, viewer, group, permits) = (
            console.clone(),
            viewer.clone(),
            group.clone(),
            permits.clone(),
        );
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut report = Report::default();
            enrol_person(&console, &viewer, account, &group, &person, &mut report).await;
            (i, report)
        });
    }
    let mut parts = Vec::new();
    let mut report = Report::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(part) => parts.push(part),
            Err(e) => report.failures.push(Failure {
                person: String::new(),
                photo: String::new(),
                error: format!("enrolment task failed: {e}"),
            }),
        }
    }
    parts.sort_by_key(|(i, _)| *i);
    for (_, part) in parts {
        report.persons_created += part.persons_created;
        report.faces_added += part.faces_added;
        report.billed_calls += part.billed_calls;
        report.request_ids.extend(part.request_ids);
        report.failures.extend(part.failures);
    }
    report
}

/// Notes an API call's outcome in the report.
fn tally(report: &mut Report, outcome: &Outcome) {
    if outcome.billed.is_some() {
        report.billed_calls += 1;
        report.request_ids.push(outcome.request_id.clone());
    }
}

/// One person of an upload: CreatePerson with the first photo (or, for a person already
/// in this group, CreateFace with it), then CreateFace with the rest (up to four at once).
async fn enrol_person(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    group: &gallery::Group,
    person: &PersonPhotos,
    report: &mut Report,
) {
    let fail = |report: &mut Report, photo: &str, error: String| {
        report.failures.push(Failure {
            person: person.person_id.clone(),
            photo: photo.to_owned(),
            error,
        })
    };
    let group_id = group.group_id.as_str();
    let in_group = match person_in_group(console, account, &person.person_id, group_id).await {
        Ok(v) => v,
        Err(e) => {
            fail(report, "", e);
            return;
        }
    };
    let mut rest: &[Photo] = &person.photos;
    if !in_group {
        let Some((first, others)) = person.photos.split_first() else {
            return;
        };
        let outcome = call(
            console,
            viewer,
            account,
            "CreatePerson",
            json!({
                "GroupId": group_id,
                "PersonId": person.person_id,
                "PersonName": person.name,
                "Image": base64(&first.bytes),
            }),
        )
        .await;
        tally(report, &outcome);
        if let Some(e) = outcome.error_line() {
            fail(report, &first.name, e);
            return;
        }
        report.persons_created += 1;
        report.faces_added += 1;
        rest = others;
    }
    for chunk in rest.chunks(4) {
        let images: Vec<String> = chunk.iter().map(|p| base64(&p.bytes)).collect();
        let outcome = call(
            console,
            viewer,
            account,
            "CreateFace",
            json!({ "PersonId": person.person_id, "Images": images }),
        )
        .await;
        tally(report, &outcome);
        if let Some(e) = outcome.error_line() {
            for p in chunk {
                fail(report, &p.name, e.clone());
            }
            continue;
        }
        report.faces_added += outcome.fields["SucFaceNum"].as_u64().unwrap_or(0);
        // Per image: 0 added, else the API's RetCode for that photo.
        let codes = outcome.fields["RetCode"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (p, code) in chunk.iter().zip(codes) {
            match code.as_i64() {
                Some(0) | None => {}
                Some(c) => fail(
                    report,
                    &p.name,
                    format!("RetCode {c}: {}", ret_code_text(c)),
                ),
            }
        }
    }
}

/// What CreateFace's per-image RetCode means (docs/api.md).
fn ret_code_text(code: i64) -> &'static str {
    match code {
        -1101 => "no face found",
        -1102 => "the image could not be decoded",
        -1109 => "the image is too large or too small",
        -1601 => "below the quality required",
        -1604 => "not similar enough to the person's other faces",
        _ => "not added",
    }
}

/// Whether the person exists and is in `group`; a person of the account in other
/// groups only is refused (moving or copying it is a separate action).
async fn person_in_group(
    console: &Console,
    account: i64,
    person: &str,
    group: &str,
) -> Result<bool, String> {
    let Ok(id) = gallery::PersonId::new(person) else {
        // CreatePerson will name the problem with its own code.
        return Ok(false);
    };
    let gaccount = gallery_account(account).map_err(|e| e.to_string())?;
    match console
        .app
        .gallery
        .person_groups(&gaccount, &id, Some(0), Some(100))
        .await
    {
        Ok((groups, _)) => {
            if groups.items.iter().any(|g| g.group_id.as_str() == group) {
                Ok(true)
            } else {
                Err(format!(
                    "person {person:?} already exists in another group; move it here or choose another PersonId"
                ))
            }
        }
        Err(gallery::GalleryError::PersonNotFound(_)) => Ok(false),
        Err(e) => Err(api::ApiError::from(e).to_string()),
    }
}

async fn group_and_person(
    console: &Console,
    account: i64,
    group: &str,
    person: &str,
) -> Result<gallery::Group, ConsoleError> {
    let g = find_group(console, account, group).await?;
    let Ok(id) = gallery::PersonId::new(person) else {
        return Err(ConsoleError::NotFound);
    };
    match console
        .app
        .gallery
        .person_groups(&gallery_account(account)?, &id, Some(0), Some(100))
        .await
    {
        Ok((groups, _)) if groups.items.iter().any(|x| x.group_id == g.group_id) => Ok(g),
        Ok(_) | Err(gallery::GalleryError::PersonNotFound(_)) => Err(ConsoleError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// DeletePerson through the API: the person leaves every group, with its faces.
async fn delete_person(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, group, person)): Path<(i64, String, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let g = group_and_person(&console, account, &group, &person).await?;
    audit_operator(
        &console,
        &viewer,
        account,
        "groups.delete_person",
        &format!("DeletePerson {person}"),
    )
    .await?;
    let outcome = call(
        &console,
        &viewer,
        account,
        "DeletePerson",
        json!({ "PersonId": person }),
    )
    .await;
    if let Some(error) = outcome.error_line() {
        let extra = Extra {
            error: Some(error),
            ..Extra::default()
        };
        return render(
            &console,
            &viewer,
            account,
            g,
            extra,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    Ok(see_other(&format!(
        "{}?done=person_deleted",
        group_path(account, &group)
    )))
}

#[derive(serde::Deserialize)]
struct MoveForm {
    to: String,
}

/// Moves a person to another group: CopyPerson into it, then DeletePersonFromGroup from
/// this one (the API has no single "move"; the faces are kept, not re-enrolled, so
/// nothing is billed).
async fn move_person(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, group, person)): Path<(i64, String, String)>,
    Form(form): Form<MoveForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let g = group_and_person(&console, account, &group, &person).await?;
    find_group(&console, account, &form.to).await?;
    audit_operator(
        &console,
        &viewer,
        account,
        "groups.move_person",
        &format!("{person}: {group} → {}", form.to),
    )
    .await?;
    let copied = call(
        &console,
        &viewer,
        account,
        "CopyPerson",
        json!({ "PersonId": person, "GroupIds": [form.to] }),
    )
    .await;
    let outcome = if copied.ok() {
        call(
            &console,
            &viewer,
            account,
            "DeletePersonFromGroup",
            json!({ "PersonId": person, "GroupId": group }),
        )
        .await
    } else {
        copied
    };
    if let Some(error) = outcome.error_line() {
        let extra = Extra {
            error: Some(format!("{}: {error}", outcome.action)),
            ..Extra::default()
        };
        return render(
            &console,
            &viewer,
            account,
            g,
            extra,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    Ok(see_other(&format!(
        "{}?done=person_moved",
        group_path(account, &form.to)
    )))
}
