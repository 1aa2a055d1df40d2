//! Multipart forms (a product form with its image) and the uploaded images: read with
//! `actix-multipart` under per-field limits, CSRF-checked like every form, stored under
//! `DATA_DIR/uploads/` with random names, served with the type read from their bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;

use crate::domain::ids::random_token;
use crate::domain::images::{self, ImageType, MAX_IMAGE_BYTES};
use crate::error::AppError;
use crate::state::AppState;

/// Largest multipart body read at all (a 2 MB image plus the text fields, with room to
/// answer "too large" as a form error for images up to this size).
pub const MAX_MULTIPART_BYTES: usize = 8 * 1024 * 1024;
/// Largest text field (a 5,000-character description is at most 20 kB of UTF-8).
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;

/// What an uploaded file turned out to be.
#[derive(Debug)]
pub enum ImageUpload {
    /// No file chosen.
    None,
    Ok {
        kind: ImageType,
        bytes: Vec<u8>,
    },
    TooLarge,
    NotAnImage,
}

/// A parsed multipart form: text fields and at most one file (`image`).
#[derive(Debug)]
pub struct MultipartForm {
    pub fields: HashMap<String, String>,
    pub image: ImageUpload,
}

impl MultipartForm {
    pub fn text(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Reads the whole form, then checks its CSRF token against the session (403 page otherwise).
pub async fn read_form(
    mut payload: Multipart,
    session: &Session,
) -> Result<MultipartForm, AppError> {
    let mut fields = HashMap::new();
    let mut image = ImageUpload::None;
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .is_some();
        let limit = if is_file {
            MAX_IMAGE_BYTES
        } else {
            MAX_TEXT_FIELD_BYTES
        };
        let mut bytes = Vec::new();
        let mut too_large = false;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("multipart: {e}")))?;
            total += chunk.len();
            if total > MAX_MULTIPART_BYTES {
                return Err(AppError::PayloadTooLarge);
            }
            if bytes.len() + chunk.len() > limit {
                too_large = true;
            } else if !too_large {
                bytes.extend_from_slice(&chunk);
            }
        }
        if is_file {
            if name != "image" {
                continue;
            }
            image = if too_large {
                ImageUpload::TooLarge
            } else if bytes.is_empty() {
                // A file input left empty still sends a part with an empty file name.
                ImageUpload::None
            } else {
                match images::sniff(&bytes) {
                    Some(kind) => ImageUpload::Ok { kind, bytes },
                    None => ImageUpload::NotAnImage,
                }
            };
        } else {
            if too_large {
                return Err(AppError::BadRequest(format!("field {name} too large")));
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| AppError::BadRequest(format!("field {name} is not UTF-8")))?;
            fields.insert(name, text);
        }
    }
    let expected = crate::auth::csrf::token(session)?;
    let sent = fields
        .get(crate::auth::csrf::FIELD)
        .cloned()
        .unwrap_or_default();
    if sent.is_empty() || !same(sent.as_bytes(), expected.as_bytes()) {
        tracing::warn!("CSRF token missing or wrong on a multipart form");
        return Err(AppError::CsrfRejected);
    }
    Ok(MultipartForm { fields, image })
}

fn uploads_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

/// Writes an image under a random name (written to a temporary name first, then renamed, so a
/// half-written file never carries a final name). Returns the file name.
pub async fn store_image(
    data_dir: &Path,
    kind: ImageType,
    bytes: Vec<u8>,
) -> Result<String, AppError> {
    let dir = uploads_dir(data_dir);
    let name = format!("{}.{}", random_token(32), kind.extension());
    let tmp = dir.join(format!(".{name}.tmp"));
    let dest = dir.join(&name);
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &dest)
    })
    .await
    .map_err(|e| AppError::Internal(format!("upload task: {e}")))?
    .map_err(|e| AppError::Internal(format!("cannot store upload: {e}")))?;
    Ok(name)
}

/// Removes a stored image (after its row is gone or points elsewhere); a failure is logged.
pub async fn remove_image(data_dir: &Path, name: &str) {
    if !is_upload_name(name) {
        return;
    }
    let path = uploads_dir(data_dir).join(name);
    if let Err(e) = tokio::fs::remove_file(&path).await {
        tracing::warn!(error = %e, file = name, "could not remove an unused upload");
    }
}

/// Only names we generate: 32 alphanumerics, a dot, a known extension. Nothing else reaches
/// the file system.
fn is_upload_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((stem, ext)) => {
            stem.len() == 32
                && stem.bytes().all(|b| b.is_ascii_alphanumeric())
                && matches!(ext, "png" | "jpg" | "webp")
        }
        None => false,
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/media/{name}", web::get().to(serve));
}

/// An uploaded image, with the content type we determined at upload, `nosniff` (set for every
/// response by the security middleware) and a year of caching (names are never reused).
async fn serve(
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    if !is_upload_name(&name) {
        return Err(AppError::NotFound);
    }
    let content_type = crate::db::products::image_type_of(&state.db, &name)
        .await?
        .and_then(|ct| ImageType::from_content_type(&ct))
        .ok_or(AppError::NotFound)?;
    let path = uploads_dir(&state.settings.data_dir).join(&name);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type.content_type())
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::is_upload_name;

    #[test]
    fn only_generated_names_are_served() {
        assert!(is_upload_name(&format!("{}.png", "a".repeat(32))));
        assert!(!is_upload_name("../../etc/passwd"));
        assert!(!is_upload_name(&format!("{}.html", "a".repeat(32))));
        assert!(!is_upload_name(&format!("{}/x.png", "a".repeat(31))));
    }
}
