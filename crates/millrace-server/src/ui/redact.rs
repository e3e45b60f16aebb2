//! What the UI shows holds no secret: every page, every JSON answer and every event of a live
//! stream (a node's log, a run's states) goes through `redact_secrets` on its way out — a URL's
//! password, a `password=` parameter, a secret key's value, wherever it came from (a run's
//! parameter, a component's log line, an error). The files of artifacts are served as they are:
//! they are the artifacts.

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use millrace_core::spec::validate::redact_secrets;

use crate::error::ApiError;

/// The largest page redacted whole (a page is far smaller).
const PAGE_LIMIT: usize = 64 << 20;

fn redact_bytes(bytes: &[u8]) -> Bytes {
    match std::str::from_utf8(bytes) {
        Ok(text) => Bytes::from(redact_secrets(text).into_owned()),
        Err(_) => Bytes::copy_from_slice(bytes),
    }
}

/// `response` with its text redacted: a page or JSON whole, a stream event by event.
pub(crate) async fn redacted(response: Response) -> Response {
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (mut parts, body) = response.into_parts();
    if content_type.starts_with("text/event-stream") {
        let events = body
            .into_data_stream()
            .map(|chunk| chunk.map(|bytes| redact_bytes(&bytes)));
        return Response::from_parts(parts, Body::from_stream(events));
    }
    if !(content_type.starts_with("text/") || content_type.starts_with("application/json")) {
        return Response::from_parts(parts, body);
    }
    match axum::body::to_bytes(body, PAGE_LIMIT).await {
        Ok(bytes) => {
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(redact_bytes(&bytes)))
        }
        Err(error) => {
            ApiError::internal(format!("reading the page failed: {error}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use millrace_core::prelude::*;
    use millrace_runner::{ArtifactStorage, LocalRunner};
    use tower::ServiceExt;

    use crate::ServerState;
    use crate::ui::Ui;

    async fn get(state: &ServerState, path: &str) -> (StatusCode, String) {
        let response = crate::router(state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn no_page_shows_a_password_a_run_was_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Pipeline::builder("secretive");
        p.param("source", String::new());
        p.import("schema", Importer::<Schema>::new("data/schema.json"));
        let pipeline = p.build().unwrap();
        let store = millrace_metadata::connect("memory://").await.unwrap();
        let root = dir.path().join("artifacts");
        let source = serde_json::json!("postgresql://reader:s3cret@db/rows");
        let summary = LocalRunner::new(Arc::clone(&store), &root)
            .run(&pipeline, BTreeMap::from([("source".to_owned(), source)]))
            .await
            .unwrap();
        let ui = Ui::new(Arc::new(pipeline), ArtifactStorage::local(&root));
        let state = ServerState::new(store, &root).with_ui(ui);

        for path in [
            "/runs".to_owned(),
            format!("/runs/{}", summary.run_id),
            format!("/runs/{}/nodes/schema", summary.run_id),
            format!("/runs/{}/nodes/nowhere", summary.run_id),
        ] {
            let (status, page) = get(&state, &path).await;
            assert!(!page.contains("s3cret"), "{path} ({status}): {page}");
        }
        let (status, page) = get(&state, &format!("/runs/{}", summary.run_id)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("postgresql://reader:***@db/rows"), "{page}");
    }
}
