//! Clients for object stores, configured from each cloud's standard environment.
//!
//! Credentials never come from a pipeline, a DAG file or a manifest: each client reads the
//! environment of the process the way the cloud's own SDKs do —
//!
//! | store | settings read |
//! |---|---|
//! | S3 | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (default `us-east-1`), `AWS_ENDPOINT_URL` for S3-compatible servers; otherwise web identity (EKS), the ECS container endpoint, or the instance's role |
//! | Cloud Storage | `GOOGLE_SERVICE_ACCOUNT` (a service-account file) or `GOOGLE_SERVICE_ACCOUNT_KEY` (its JSON), `GOOGLE_APPLICATION_CREDENTIALS` / the gcloud application-default file, or the metadata server; an emulator through a service-account file with `"gcs_base_url": "http://HOST:PORT"` and `"disable_oauth": true` |
//! | Azure Blob | `AZURE_STORAGE_ACCOUNT_NAME` with `AZURE_STORAGE_ACCOUNT_KEY`, a SAS, a client secret, workload identity or managed identity, `AZURE_STORAGE_ENDPOINT` for another endpoint; `AZURE_STORAGE_USE_EMULATOR=true` for Azurite: account `devstoreaccount1` and its well-known key unless set, at `AZURE_STORAGE_ENDPOINT` (`http://HOST:PORT` or `http://HOST:PORT/ACCOUNT`), else `AZURITE_BLOB_STORAGE_URL`, else `http://127.0.0.1:10000` |
//!
//! An endpoint given as `http://…` (a local S3-compatible server, an emulator) is allowed
//! plain HTTP; real clouds are reached over TLS, with rustls on `ring`. Requests are retried
//! with backoff on transient failures, for at most a minute.
//!
//! One client serves a bucket for the whole process (clients pool connections).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::memory::InMemory;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::error::{Result, StorageError};
use crate::location::{ObjectLocation, Scheme};

/// Clients by scheme and bucket.
type Clients = HashMap<(Scheme, String), Arc<dyn ObjectStore>>;

/// The process's clients.
static CLIENTS: LazyLock<Mutex<Clients>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The client for `location`'s bucket, made on first use and shared by the process (tools
/// and tests that need raw access to the bucket use it too).
pub fn client(location: &ObjectLocation) -> Result<Arc<dyn ObjectStore>> {
    let key = (location.scheme, location.bucket.clone());
    let mut clients = CLIENTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(client) = clients.get(&key) {
        return Ok(Arc::clone(client));
    }
    let client = build(location)?;
    clients.insert(key, Arc::clone(&client));
    Ok(client)
}

fn build(location: &ObjectLocation) -> Result<Arc<dyn ObjectStore>> {
    install_ring_provider();
    let configure = |error: object_store::Error| StorageError::Configure {
        url: location.to_string(),
        message: millrace_core::spec::validate::redact_secrets(&error.to_string()).into_owned(),
    };
    let retry = RetryConfig {
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    };
    let options = |endpoint: Option<String>| {
        ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_allow_http(endpoint.is_some_and(|url| url.starts_with("http://")))
    };
    let bucket = location.bucket.clone();
    Ok(match location.scheme {
        Scheme::S3 => {
            let endpoint = env_any(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]);
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(retry)
                .with_client_options(options(endpoint));
            if env_any(&["AWS_REGION", "AWS_DEFAULT_REGION"]).is_none() {
                builder = builder.with_region("us-east-1");
            }
            Arc::new(builder.build().map_err(configure)?)
        }
        Scheme::Gcs => {
            let endpoint = service_account_endpoint();
            Arc::new(
                GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .with_client_options(options(endpoint))
                    .build()
                    .map_err(configure)?,
            )
        }
        Scheme::Azure => {
            let emulator = env_any(&["AZURE_STORAGE_USE_EMULATOR"])
                .is_some_and(|value| value.eq_ignore_ascii_case("true"));
            let endpoint = env_any(&["AZURE_STORAGE_ENDPOINT", "AZURE_ENDPOINT"]);
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_container_name(bucket)
                .with_retry(retry);
            let allow_http = if emulator && env_any(&[AZURITE_URL_VAR]).is_none() {
                match endpoint {
                    // object_store's emulator mode reads only `AZURITE_BLOB_STORAGE_URL`:
                    // an emulator given the Azure way, by its blob endpoint, is addressed
                    // as an account at that endpoint with the emulator's credentials.
                    Some(endpoint) => {
                        builder = emulator_at(builder, &endpoint);
                        Some(endpoint)
                    }
                    None => Some(format!("{EMULATOR_DEFAULT_URL}/")),
                }
            } else {
                endpoint.or_else(|| env_any(&[AZURITE_URL_VAR]))
            };
            Arc::new(
                builder
                    .with_client_options(options(allow_http))
                    .build()
                    .map_err(configure)?,
            )
        }
        Scheme::Memory => Arc::new(InMemory::new()),
    })
}

/// Where object_store looks for Azurite in emulator mode (default [`EMULATOR_DEFAULT_URL`]).
const AZURITE_URL_VAR: &str = "AZURITE_BLOB_STORAGE_URL";

/// Azurite's default blob endpoint.
const EMULATOR_DEFAULT_URL: &str = "http://127.0.0.1:10000";

/// The account Azurite and the legacy storage emulator serve.
const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

/// The well-known key of [`EMULATOR_ACCOUNT`] (published by Microsoft, not a secret).
const EMULATOR_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// `builder` for an Azure Storage emulator whose blob endpoint is `endpoint`:
/// `http://HOST:PORT/ACCOUNT` as in a connection string's `BlobEndpoint`, or `http://HOST:PORT`
/// (the account is then appended). The account and key are the environment's, or the
/// emulator's well-known ones.
fn emulator_at(builder: MicrosoftAzureBuilder, endpoint: &str) -> MicrosoftAzureBuilder {
    let account = builder
        .get_config_value(&AzureConfigKey::AccountName)
        .unwrap_or_else(|| EMULATOR_ACCOUNT.to_owned());
    let key = builder
        .get_config_value(&AzureConfigKey::AccessKey)
        .unwrap_or_else(|| EMULATOR_ACCOUNT_KEY.to_owned());
    let trimmed = endpoint.trim_end_matches('/');
    let has_path = trimmed
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    let blob_endpoint = if has_path {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/{account}")
    };
    builder
        .with_use_emulator(false)
        .with_account(account)
        .with_access_key(key)
        .with_endpoint(blob_endpoint)
}

/// The first of `names` set in the environment.
fn env_any(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

/// The `gcs_base_url` of the service account (its file or its JSON), when it points at an
/// emulator.
fn service_account_endpoint() -> Option<String> {
    let text = match env_any(&["GOOGLE_SERVICE_ACCOUNT_KEY"]) {
        Some(json) => json,
        None => {
            let path = env_any(&[
                "GOOGLE_SERVICE_ACCOUNT",
                "GOOGLE_SERVICE_ACCOUNT_PATH",
                "SERVICE_ACCOUNT",
                "GOOGLE_APPLICATION_CREDENTIALS",
            ])?;
            std::fs::read_to_string(path).ok()?
        }
    };
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value
        .get("gcs_base_url")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Makes rustls use `ring` (the process may install it once; later calls change nothing).
pub fn install_ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
