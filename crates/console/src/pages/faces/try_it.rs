//! "Try it": a photo (two for a comparison) through one face action — DetectFace with
//! attributes and quality, AnalyzeFace's 90 points, CompareFace, SearchFaces in a group,
//! DetectLiveFace — as a real, billed API call. The page shows the answer drawn on the
//! photo, the request a developer would send and the response, with its RequestId.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde_json::{json, Map, Value};

use super::figure::{self, Placed};
use super::groups::group_choices;
use super::upload::{self, UploadError};
use super::{audit_operator, base64, call, Outcome};
use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route(
        "/a/{account}/try",
        get(form)
            .post(run)
            .layer(DefaultBodyLimit::max(super::UPLOAD_BODY_LIMIT)),
    )
}

/// The page's choices: (form value, API action).
const ACTIONS: &[(&str, &str)] = &[
    ("detect", "DetectFace"),
    ("landmarks", "AnalyzeFace"),
    ("compare", "CompareFace"),
    ("search", "SearchFaces"),
    ("liveness", "DetectLiveFace"),
];

/// What the form sent.
#[derive(Default)]
struct TryForm {
    action: String,
    group_id: String,
    photo: Option<(String, Vec<u8>)>,
    photo2: Option<(String, Vec<u8>)>,
}

async fn read_form(mut multipart: Multipart) -> Result<TryForm, UploadError> {
    let mut form = TryForm::default();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| UploadError::Form(e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("").to_owned();
        match name.as_str() {
            "photo" | "photo2" => {
                let bytes = upload::read_field(&mut field, upload::MAX_PHOTO_BYTES).await?;
                // A file input left empty still sends an empty part.
                let photo = (!bytes.is_empty()).then_some((file_name, bytes));
                if name == "photo" {
                    form.photo = photo;
                } else {
                    form.photo2 = photo;
                }
            }
            "action" | "group_id" => {
                let v = upload::read_field(&mut field, 1024).await?;
                let v = String::from_utf8_lossy(&v).trim().to_owned();
                if name == "action" {
                    form.action = v;
                } else {
                    form.group_id = v;
                }
            }
            _ => {
                upload::read_field(&mut field, 1024).await?;
            }
        }
    }
    Ok(form)
}

/// The result part of the page.
#[derive(serde::Serialize)]
struct Shown {
    action: String,
    request_id: String,
    billed: Option<&'static str>,
    error: Option<String>,
    figure: Option<String>,
    request: String,
    response: String,
    /// One line per face or candidate, for the table beside the figure.
    rows: Vec<Row>,
}

#[derive(serde::Serialize)]
struct Row {
    label: String,
    value: String,
}

async fn render(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    chosen: (&str, &str),
    error: Option<String>,
    shown: Option<Shown>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let groups = group_choices(console, account).await?;
    let mut r = page(
        console,
        viewer,
        "try.html",
        "try",
        Some(account),
        context! {
            actions => ACTIONS.iter().map(|(k, a)| context! { key => k, api => a }).collect::<Vec<_>>(),
            groups => groups,
            chosen_action => chosen.0,
            chosen_group => chosen.1,
            error => error,
            result => shown,
            max_mb => upload::MAX_PHOTO_BYTES / (1024 * 1024),
        },
    )?;
    *r.status_mut() = status;
    Ok(r)
}

async fn form(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    render(
        &console,
        &viewer,
        account,
        ("detect", ""),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// The request body as a developer would send it, with each image shortened.
fn request_text(params: &Value) -> String {
    let mut shown = params.clone();
    if let Some(m) = shown.as_object_mut() {
        for (k, v) in m.iter_mut() {
            if k.starts_with("Image") {
                if let Some(s) = v.as_str() {
                    *v = json!(format!("<base64, {} bytes>", s.len()));
                }
            }
        }
    }
    serde_json::to_string_pretty(&shown).unwrap_or_default()
}

/// The action's parameters for the photo(s).
fn params_for(action: &str, photo: &[u8], photo2: Option<&[u8]>, group: &str) -> Value {
    match action {
        "DetectFace" => json!({
            "Image": base64(photo), "MaxFaceNum": 5,
            "NeedFaceAttributes": 1, "NeedQualityDetection": 1,
        }),
        "AnalyzeFace" => json!({ "Image": base64(photo), "Mode": 0 }),
        "CompareFace" => json!({
            "ImageA": base64(photo), "ImageB": base64(photo2.unwrap_or_default()),
        }),
        "SearchFaces" => json!({
            "GroupIds": [group], "Image": base64(photo),
            "MaxFaceNum": 1, "MaxPersonNum": 5, "NeedPersonInfo": 1,
        }),
        _ => json!({ "Image": base64(photo) }),
    }
}

/// Lines for the table beside the figure: what a reader looks for in each answer.
fn rows_of(fields: &Map<String, Value>) -> Vec<Row> {
    let mut rows = Vec::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    };
    if let Some(faces) = fields.get("FaceInfos").and_then(Value::as_array) {
        for (i, f) in faces.iter().enumerate() {
            let a = &f["FaceAttributesInfo"];
            rows.push(Row {
                label: format!("#{}", i + 1),
                value: format!(
                    "X {} Y {} W {} H {} · Age {} · Gender {} · Expression {} · Quality {}",
                    text(&f["X"]),
                    text(&f["Y"]),
                    text(&f["Width"]),
                    text(&f["Height"]),
                    text(&a["Age"]),
                    text(&a["Gender"]),
                    text(&a["Expression"]),
                    text(&f["FaceQualityInfo"]["Score"]),
                ),
            });
        }
    }
    if let Some(shapes) = fields.get("FaceShapeSet").and_then(Value::as_array) {
        for (i, s) in shapes.iter().enumerate() {
            let n: usize = s
                .as_object()
                .map(|m| m.values().filter_map(Value::as_array).map(Vec::len).sum())
                .unwrap_or(0);
            rows.push(Row {
                label: format!("#{}", i + 1),
                value: format!("{n} points"),
            });
        }
    }
    if let Some(results) = fields.get("Results").and_then(Value::as_array) {
        for r in results {
            for c in r["Candidates"].as_array().into_iter().flatten() {
                rows.push(Row {
                    label: text(&c["PersonId"]),
                    value: format!("{} · Score {}", text(&c["PersonName"]), text(&c["Score"])),
                });
            }
        }
    }
    for key in ["Score", "IsLiveness"] {
        if let Some(v) = fields.get(key) {
            rows.push(Row {
                label: key.into(),
                value: text(v),
            });
        }
    }
    rows
}

/// The figure: the photo(s) with the answer's marks (none for an error).
fn figure_of(outcome: &Outcome, photos: &[&[u8]], label: &str) -> Option<String> {
    // The answer's marks are for the first photo (CompareFace gives none).
    let mut marks = Some(figure::marks_of(&outcome.fields));
    let mut placed = Vec::new();
    for bytes in photos {
        let (width, height) = figure::dimensions(bytes)?;
        let photo = Placed {
            mime: upload::sniff(bytes)?,
            bytes,
            width,
            height,
        };
        placed.push((photo, marks.take().unwrap_or_default()));
    }
    Some(figure::svg(&placed, label))
}

/// The page again with a message about the form (status 400); nothing was called.
async fn refuse(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    chosen: (&str, &str),
    error: String,
) -> Result<Response, ConsoleError> {
    render(
        console,
        viewer,
        account,
        chosen,
        Some(error),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await
}

async fn run(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let form = match read_form(multipart).await {
        Ok(f) => f,
        Err(e) => return refuse(&console, &viewer, account, ("detect", ""), e.to_string()).await,
    };
    let Some(&(key, action)) = ACTIONS.iter().find(|(k, _)| *k == form.action) else {
        return refuse(
            &console,
            &viewer,
            account,
            ("detect", ""),
            format!("unknown action {:?}", form.action),
        )
        .await;
    };
    let chosen = (key, form.group_id.as_str());
    let Some((_, photo)) = &form.photo else {
        return refuse(
            &console,
            &viewer,
            account,
            chosen,
            UploadError::NoFile.to_string(),
        )
        .await;
    };
    let photo2 = form.photo2.as_ref().map(|(_, b)| b.as_slice());
    let mut photos: Vec<&[u8]> = vec![photo];
    if action == "CompareFace" {
        match photo2 {
            Some(p) => photos.push(p),
            None => {
                return refuse(
                    &console,
                    &viewer,
                    account,
                    chosen,
                    UploadError::NoFile.to_string(),
                )
                .await
            }
        }
    }
    if photos.iter().any(|p| upload::sniff(p).is_none()) {
        return refuse(
            &console,
            &viewer,
            account,
            chosen,
            UploadError::NotPhoto.to_string(),
        )
        .await;
    }
    if action == "SearchFaces" {
        // Another account's (or no) group is "not found" like every object; the API
        // would say GroupIdNotExist, which is also shown when the group is gone.
        if form.group_id.is_empty() {
            return refuse(
                &console,
                &viewer,
                account,
                chosen,
                "choose a group to search".into(),
            )
            .await;
        }
    }
    let params = params_for(action, photo, photo2, &form.group_id);
    audit_operator(&console, &viewer, account, "try", action).await?;
    let outcome = call(&console, &viewer, account, action, params.clone()).await;
    let label = format!(
        "{} · {action}",
        form.photo.as_ref().map(|p| p.0.as_str()).unwrap_or("")
    );
    let shown = Shown {
        action: action.to_owned(),
        request_id: outcome.request_id.clone(),
        billed: outcome.billed,
        error: outcome.error_line(),
        figure: figure_of(&outcome, &photos, &label),
        request: request_text(&params),
        response: serde_json::to_string_pretty(&outcome.envelope()).unwrap_or_default(),
        rows: rows_of(&outcome.fields),
    };
    render(
        &console,
        &viewer,
        account,
        chosen,
        None,
        Some(shown),
        StatusCode::OK,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_shows_images_shortened() {
        let p = params_for("CompareFace", b"abc", Some(b"abcdef"), "");
        let text = request_text(&p);
        assert!(text.contains("\"ImageA\": \"<base64, 4 bytes>\""), "{text}");
        assert!(text.contains("\"ImageB\": \"<base64, 8 bytes>\""), "{text}");
        let p = params_for("DetectFace", b"abc", None, "");
        let text = request_text(&p);
        assert!(text.contains("\"NeedFaceAttributes\": 1"), "{text}");
        assert!(text.contains("\"NeedQualityDetection\": 1"), "{text}");
        let p = params_for("SearchFaces", b"abc", None, "g1");
        assert_eq!(p["GroupIds"], json!(["g1"]));
    }

    #[test]
    fn rows_summarise_the_answer() {
        let detect = json!({"FaceInfos": [{"X": 1, "Y": 2, "Width": 3, "Height": 4,
            "FaceAttributesInfo": {"Age": 30, "Gender": 99, "Expression": 5},
            "FaceQualityInfo": {"Score": 80}}]});
        let rows = rows_of(detect.as_object().unwrap());
        assert_eq!(rows.len(), 1);
        assert!(rows[0].value.contains("Age 30"), "{}", rows[0].value);
        let search = json!({"Results": [{"Candidates": [{"PersonId": "ann", "PersonName": "Ann", "Score": 97.5}]}]});
        let rows = rows_of(search.as_object().unwrap());
        assert_eq!(rows[0].label, "ann");
        assert!(rows[0].value.contains("97.5"));
    }
}
