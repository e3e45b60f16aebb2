//! The UI's stylesheet and script, compiled into the binary: nothing to build or install.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Where pages link the stylesheet (versioned, so a new binary is not served a stale copy).
pub(crate) const STYLESHEET: &str = concat!("/ui/assets/ui.css?v=", env!("CARGO_PKG_VERSION"));
/// Where pages load the script.
pub(crate) const SCRIPT: &str = concat!("/ui/assets/ui.js?v=", env!("CARGO_PKG_VERSION"));

const CSS: &str = include_str!("../../assets/ui.css");
const JS: &str = include_str!("../../assets/ui.js");

/// `GET /ui/assets/{file}`.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "ui.css" => (CSS, "text/css; charset=utf-8"),
        "ui.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return ApiError::not_found(format!("no asset `{file}`")).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
