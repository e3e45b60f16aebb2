//! A client of an MLflow server's REST API: JSON calls under `/api/2.0/mlflow/` and file
//! uploads through the artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/`), with the
//! tracking client's credentials (`MLFLOW_TRACKING_TOKEN`, or `MLFLOW_TRACKING_USERNAME` and
//! `MLFLOW_TRACKING_PASSWORD`). A call the server could not have acted on — the connection
//! refused, `429`, `502`, `503`, `504` — is tried again after 0.25, 0.5, 1 and 2 s; anything
//! else is answered at once, with MLflow's error code.

use millrace_core::spec::validate::redact_secrets;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::error::ServerError;

/// Waits before the second, third, … try of a call the server could not have acted on.
const BACKOFF_MS: [u64; 4] = [250, 500, 1000, 2000];
/// How long one call may take (a large file's upload included).
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// How the client proves who it is.
#[derive(Debug, Clone)]
enum Credentials {
    None,
    Token(String),
    Basic { user: String, password: String },
}

impl Credentials {
    /// What the `mlflow` client reads from the environment.
    fn from_environment() -> Credentials {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        if let Some(token) = variable("MLFLOW_TRACKING_TOKEN") {
            Credentials::Token(token)
        } else if let Some(user) = variable("MLFLOW_TRACKING_USERNAME") {
            Credentials::Basic {
                user,
                password: variable("MLFLOW_TRACKING_PASSWORD").unwrap_or_default(),
            }
        } else {
            Credentials::None
        }
    }
}

/// An MLflow server, by its tracking URI (`http://mlflow.internal:5000`).
#[derive(Debug, Clone)]
pub struct MlflowClient {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
}

impl MlflowClient {
    /// The server at `tracking_uri`, with credentials from the environment.
    pub fn new(tracking_uri: &str) -> Result<MlflowClient, ServerError> {
        let unreachable = |reason: String| ServerError::Unreachable {
            url: redact_secrets(tracking_uri).into_owned(),
            call: "connect".to_owned(),
            reason,
        };
        let base = Url::parse(tracking_uri.trim_end_matches('/'))
            .map_err(|error| unreachable(format!("not a URL: {error}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(unreachable(
                "the mirror speaks to an MLflow server over http:// or https://".to_owned(),
            ));
        }
        millrace_storage::connect::install_ring_provider();
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|error| unreachable(error.to_string()))?;
        Ok(MlflowClient {
            http,
            base,
            credentials: Credentials::from_environment(),
        })
    }

    /// The tracking URI, as given — without a password in it (it names the server in
    /// messages and reports).
    pub fn url(&self) -> String {
        redact_secrets(self.base.as_str().trim_end_matches('/')).into_owned()
    }

    /// The URL of `segments` under the server's path.
    fn endpoint<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `POST /api/2.0/mlflow/<endpoint>` with a JSON body.
    pub(crate) async fn post(&self, endpoint: &str, body: &Value) -> Result<Value, ServerError> {
        self.send_json(Method::POST, endpoint, body).await
    }

    /// `DELETE /api/2.0/mlflow/<endpoint>` with a JSON body.
    pub(crate) async fn delete(&self, endpoint: &str, body: &Value) -> Result<Value, ServerError> {
        self.send_json(Method::DELETE, endpoint, body).await
    }

    async fn send_json(
        &self,
        method: Method,
        endpoint: &str,
        body: &Value,
    ) -> Result<Value, ServerError> {
        let url = self.endpoint(
            ["api", "2.0", "mlflow"]
                .into_iter()
                .chain(endpoint.split('/')),
        );
        let body = serde_json::to_vec(body).unwrap_or_default();
        let call = format!("{method} {endpoint}");
        let reply = self
            .call(method, url, &call, body, "application/json")
            .await?;
        Ok(serde_json::from_slice(&reply).unwrap_or(Value::Null))
    }

    /// `GET /api/2.0/mlflow/<endpoint>?<query>`.
    pub(crate) async fn get(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ServerError> {
        let mut url = self.endpoint(
            ["api", "2.0", "mlflow"]
                .into_iter()
                .chain(endpoint.split('/')),
        );
        url.query_pairs_mut().extend_pairs(query);
        let reply = self
            .call(Method::GET, url, &format!("GET {endpoint}"), Vec::new(), "")
            .await?;
        Ok(serde_json::from_slice(&reply).unwrap_or(Value::Null))
    }

    /// Uploads `bytes` to `mlflow-artifacts:/<path>` through the artifact proxy.
    pub(crate) async fn upload(&self, path: &str, bytes: Vec<u8>) -> Result<(), ServerError> {
        let url = self.endpoint(
            ["api", "2.0", "mlflow-artifacts", "artifacts"]
                .into_iter()
                .chain(path.split('/').filter(|part| !part.is_empty())),
        );
        self.call(
            Method::PUT,
            url,
            &format!("PUT mlflow-artifacts:/{path}"),
            bytes,
            "application/octet-stream",
        )
        .await
        .map(drop)
    }

    /// One call, tried again while the server could not have acted on it.
    async fn call(
        &self,
        method: Method,
        url: Url,
        call: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<Vec<u8>, ServerError> {
        let mut waits = BACKOFF_MS.iter();
        loop {
            let mut request = self.http.request(method.clone(), url.clone());
            if !content_type.is_empty() {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(body.clone());
            }
            request = match &self.credentials {
                Credentials::None => request,
                Credentials::Token(token) => request.bearer_auth(token),
                Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
            };
            let (retry, result) = match request.send().await {
                Err(error) => (
                    error.is_connect(),
                    Err(ServerError::Unreachable {
                        url: self.url(),
                        call: call.to_owned(),
                        reason: error_chain(&error),
                    }),
                ),
                Ok(reply) => {
                    let status = reply.status();
                    let bytes = reply.bytes().await.map(|bytes| bytes.to_vec());
                    match bytes {
                        Err(error) => (
                            false,
                            Err(ServerError::Unreachable {
                                url: self.url(),
                                call: call.to_owned(),
                                reason: error_chain(&error),
                            }),
                        ),
                        Ok(bytes) if status.is_success() => (false, Ok(bytes)),
                        Ok(bytes) => (
                            matches!(
                                status,
                                StatusCode::TOO_MANY_REQUESTS
                                    | StatusCode::BAD_GATEWAY
                                    | StatusCode::SERVICE_UNAVAILABLE
                                    | StatusCode::GATEWAY_TIMEOUT
                            ),
                            Err(self.refused(call, status, &bytes)),
                        ),
                    }
                }
            };
            match (retry, waits.next()) {
                (true, Some(wait)) => tokio::time::sleep(Duration::from_millis(*wait)).await,
                _ => return result,
            }
        }
    }

    /// A refusal, with MLflow's `{"error_code", "message"}` when the reply has them.
    fn refused(&self, call: &str, status: StatusCode, body: &[u8]) -> ServerError {
        let reply: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |key: &str| reply.get(key).and_then(Value::as_str).map(str::to_owned);
        let message = text("message").unwrap_or_else(|| {
            let body = String::from_utf8_lossy(body);
            body.chars().take(300).collect::<String>().trim().to_owned()
        });
        ServerError::Refused {
            url: self.url(),
            call: call.to_owned(),
            status: status.as_u16(),
            code: text("error_code").unwrap_or_default(),
            message,
        }
    }
}

/// An error with its causes, `: `-joined (reqwest's own message alone says little).
/// An error with its causes, one line, without the passwords of the URLs it names.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    redact_secrets(&text).into_owned()
}

/// Whether `error` is MLflow's `code` (`RESOURCE_ALREADY_EXISTS`).
pub(crate) fn is_code(error: &ServerError, wanted: &str) -> bool {
    matches!(error, ServerError::Refused { code, .. } if code == wanted)
}
