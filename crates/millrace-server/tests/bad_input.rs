//! Bad requests get MLflow's error codes, and nothing is stored half-way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use millrace_metadata::connect;
use millrace_server::{ServerState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Api {
    state: ServerState,
    _root: tempfile::TempDir,
}

impl Api {
    async fn new() -> Api {
        let root = tempfile::tempdir().unwrap();
        let store = connect("memory://").await.unwrap();
        Api {
            state: ServerState::new(store, root.path()),
            _root: root,
        }
    }

    async fn call(&self, method: &str, path: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let reply = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = reply.status();
        let bytes = axum::body::to_bytes(reply.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn run(&self) -> String {
        let (status, created) = self
            .call(
                "POST",
                "/api/2.0/mlflow/runs/create",
                r#"{"experiment_id": "0"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        created["run"]["info"]["run_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn code(reply: &(StatusCode, Value)) -> (u16, &str) {
    (
        reply.0.as_u16(),
        reply.1["error_code"].as_str().unwrap_or("none"),
    )
}

#[tokio::test]
async fn an_unknown_run_or_experiment_is_resource_does_not_exist() {
    let api = Api::new().await;
    let reply = api
        .call("GET", "/api/2.0/mlflow/runs/get?run_id=feedface", "")
        .await;
    assert_eq!(code(&reply), (404, "RESOURCE_DOES_NOT_EXIST"));
    let reply = api
        .call(
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=nope",
            "",
        )
        .await;
    assert_eq!(code(&reply), (404, "RESOURCE_DOES_NOT_EXIST"));
    let reply = api
        .call(
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            r#"{"run_id": "feedface", "key": "loss", "value": 1}"#,
        )
        .await;
    assert_eq!(code(&reply), (404, "RESOURCE_DOES_NOT_EXIST"));
    let reply = api
        .call("GET", "/api/2.0/mlflow/no/such/endpoint", "")
        .await;
    assert_eq!(code(&reply), (404, "ENDPOINT_NOT_FOUND"));
}

#[tokio::test]
async fn a_duplicate_registered_model_is_resource_already_exists() {
    let api = Api::new().await;
    let body = r#"{"name": "taxi"}"#;
    assert_eq!(
        api.call("POST", "/api/2.0/mlflow/registered-models/create", body)
            .await
            .0,
        StatusCode::OK
    );
    let reply = api
        .call("POST", "/api/2.0/mlflow/registered-models/create", body)
        .await;
    assert_eq!(code(&reply), (400, "RESOURCE_ALREADY_EXISTS"));
    let reply = api
        .call(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            r#"{"name": "e"}"#,
        )
        .await;
    assert_eq!(reply.0, StatusCode::OK);
    let reply = api
        .call(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            r#"{"name": "e"}"#,
        )
        .await;
    assert_eq!(code(&reply), (400, "RESOURCE_ALREADY_EXISTS"));
}

#[tokio::test]
async fn an_invalid_filter_is_invalid_parameter_value_with_the_position() {
    let api = Api::new().await;
    let reply = api
        .call(
            "POST",
            "/api/2.0/mlflow/runs/search",
            r#"{"experiment_ids": ["0"], "filter": "metrics.rmse < 4 OR params.a = 'b'"}"#,
        )
        .await;
    assert_eq!(code(&reply), (400, "INVALID_PARAMETER_VALUE"));
    assert!(
        reply.1["message"].as_str().unwrap().contains("no OR"),
        "{}",
        reply.1
    );
    let reply = api
        .call(
            "GET",
            "/api/2.0/mlflow/model-versions/search?filter=version_number%20%3E%20x",
            "",
        )
        .await;
    assert_eq!(code(&reply), (400, "INVALID_PARAMETER_VALUE"));
}

#[tokio::test]
async fn artifact_paths_that_leave_the_root_are_refused() {
    let api = Api::new().await;
    for path in ["mlflow/../../escape.txt", "a/%2E%2E/%2E%2E/escape.txt"] {
        let request = Request::builder()
            .method("PUT")
            .uri(format!("/api/2.0/mlflow-artifacts/artifacts/{path}"))
            .body(Body::from("x"))
            .unwrap();
        let reply = router(api.state.clone()).oneshot(request).await.unwrap();
        assert_ne!(reply.status(), StatusCode::OK, "{path}");
    }
    let reply = api
        .call("GET", "/api/2.0/mlflow-artifacts/artifacts?path=../..", "")
        .await;
    assert_eq!(code(&reply), (400, "INVALID_PARAMETER_VALUE"));
    assert!(!api.state.root.parent().unwrap().join("escape.txt").exists());
}

#[tokio::test]
async fn a_batch_over_mlflows_limits_stores_nothing() {
    let api = Api::new().await;
    let run = api.run().await;
    let metrics: Vec<Value> = (0..1001)
        .map(|step| json!({"key": "loss", "value": 1.0, "timestamp": 0, "step": step}))
        .collect();
    let body =
        json!({"run_id": run, "metrics": metrics, "params": [{"key": "lr", "value": "0.1"}]});
    let reply = api
        .call("POST", "/api/2.0/mlflow/runs/log-batch", &body.to_string())
        .await;
    assert_eq!(code(&reply), (400, "INVALID_PARAMETER_VALUE"));
    let (_, stored) = api
        .call("GET", &format!("/api/2.0/mlflow/runs/get?run_id={run}"), "")
        .await;
    assert_eq!(stored["run"]["data"]["metrics"], json!([]));
    assert_eq!(stored["run"]["data"]["params"], json!([]));
    // A changed parameter in an otherwise good batch: nothing of it is stored either.
    let ok = json!({"run_id": run, "params": [{"key": "lr", "value": "0.1"}]});
    assert_eq!(
        api.call("POST", "/api/2.0/mlflow/runs/log-batch", &ok.to_string())
            .await
            .0,
        StatusCode::OK
    );
    let changed = json!({"run_id": run, "params": [{"key": "lr", "value": "0.2"}], "metrics": [{"key": "m", "value": 1, "timestamp": 0, "step": 0}]});
    let reply = api
        .call(
            "POST",
            "/api/2.0/mlflow/runs/log-batch",
            &changed.to_string(),
        )
        .await;
    assert_eq!(code(&reply), (400, "INVALID_PARAMETER_VALUE"));
    let (_, stored) = api
        .call("GET", &format!("/api/2.0/mlflow/runs/get?run_id={run}"), "")
        .await;
    assert_eq!(stored["run"]["data"]["metrics"], json!([]));
}

#[tokio::test]
async fn malformed_json_is_bad_request() {
    let api = Api::new().await;
    let reply = api
        .call("POST", "/api/2.0/mlflow/runs/create", "{not json")
        .await;
    assert_eq!(code(&reply), (400, "BAD_REQUEST"));
    let reply = api
        .call(
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            r#"{"run_id": "x", "key": "loss", "value": "high"}"#,
        )
        .await;
    assert_eq!(code(&reply), (400, "INVALID_PARAMETER_VALUE"));
}

#[tokio::test]
async fn non_finite_metrics_and_history_pages_round_trip() {
    let api = Api::new().await;
    let run = api.run().await;
    for (step, value) in [(0, json!("NaN")), (1, json!("Infinity")), (2, json!(0.5))] {
        let body =
            json!({"run_id": run, "key": "loss", "value": value, "timestamp": 1, "step": step});
        assert_eq!(
            api.call("POST", "/api/2.0/mlflow/runs/log-metric", &body.to_string())
                .await
                .0,
            StatusCode::OK
        );
    }
    let (_, page) = api
        .call(
            "GET",
            &format!(
                "/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=loss&max_results=2"
            ),
            "",
        )
        .await;
    assert_eq!(page["metrics"][0]["value"], "NaN");
    assert_eq!(page["metrics"][1]["value"], "Infinity");
    let token = page["next_page_token"].as_str().unwrap();
    let (_, rest) = api
        .call("GET", &format!("/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=loss&max_results=2&page_token={token}"), "")
        .await;
    assert_eq!(rest["metrics"][0]["value"], 0.5);
    assert!(rest.get("next_page_token").is_none());
}
