//! A full disk while a node writes its output (ENOSPC): the node fails with a clear message,
//! its output is ABANDONED and never LIVE, the store — on the same full disk — stays intact and
//! readable, and once space is freed the next run completes.
//!
//! The disk is a real small file system: a tmpfs mounted for the test (we run as root on
//! Linux), with a ballast file standing for whatever else filled it. Where mounting is not
//! allowed the tests say SKIPPED, with the reason, on standard error, and pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use millrace_core::prelude::*;
use millrace_metadata::{ArtifactState, NodeQuery, connect};
use millrace_runner::{LocalRunner, NodeState, RunHistory, RunPage, doctor};

/// The size of the file system.
const DISK: &str = "16m";
/// What the ballast leaves free once the store exists: room for the run's own records (the
/// store's write-ahead log grows with them), not for the node's output.
const LEFT_FREE: u64 = 2 << 20;
/// What the node writes: more than is left, less than the disk once the ballast is gone.
const OUTPUT_BYTES: usize = 3 << 20;

/// One test at a time: a process the other test starts (`mount`, `dd`, `df`) holds a copy of
/// every open file descriptor of this test process from its fork until its exec — including
/// the file a component is writing on the full disk. Removing that file then frees its space
/// only once the child has exec'd, and the store's next write can find the disk still full
/// (seen about once in 80 runs with both tests in parallel).
static ONE_DISK_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A tmpfs mounted at a temporary directory, unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mount_point: PathBuf,
}

impl SmallDisk {
    /// Mounts one, or says why it cannot.
    fn mount(test: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mount_point = dir.path().to_owned();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={DISK}"), "tmpfs"])
            .arg(&mount_point)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(SmallDisk {
                _dir: dir,
                mount_point,
            }),
            Ok(output) => {
                eprintln!(
                    "SKIPPED {test}: cannot mount a {DISK} tmpfs (needs root or CAP_SYS_ADMIN): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                eprintln!("SKIPPED {test}: cannot run `mount`: {error}");
                None
            }
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.mount_point.join(name)
    }

    /// The bytes free on it.
    fn available(&self) -> u64 {
        let output = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.mount_point)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines().last().unwrap().trim().parse().unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount_point).status();
    }
}

/// Writes `bytes` zero bytes into its output, 64 KiB at a time, as a component that streams
/// its results does.
#[millrace_macros::component(crate = millrace_core, kind = "test.Fill")]
async fn fill(data: Output<Dataset>, bytes: i64) -> Result<(), ComponentError> {
    use std::io::Write;
    let mut file = std::fs::File::create(data.uri().join("blob.bin"))?;
    let chunk = vec![0_u8; 64 << 10];
    let mut left = usize::try_from(bytes).unwrap_or_default();
    while left > 0 {
        let size = left.min(chunk.len());
        file.write_all(&chunk[..size])?;
        left -= size;
    }
    file.sync_all()?;
    Ok(())
}

/// The same, as a command: `dd` writing into the output's directory.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct DdFill;

#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
struct DdFillOutputs {
    #[allow(dead_code)] // Declares the output; nothing reads it.
    data: Channel<Dataset>,
}

impl Component for DdFill {
    const KIND: &'static str = "test.DdFill";
    type Inputs = ();
    type Outputs = DdFillOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["dd", "if=/dev/zero", "bs=65536"]).args([
            format!("count={}", OUTPUT_BYTES / 65536),
            "of={{outputs.data.uri}}/blob.bin".to_owned(),
        ]))
    }
}

fn in_process() -> Pipeline {
    let mut p = Pipeline::builder("filler");
    p.add("fill", Fill::new(OUTPUT_BYTES as i64));
    p.build().unwrap()
}

fn command() -> Pipeline {
    let mut p = Pipeline::builder("filler");
    p.add("fill", Node::new(DdFill, ()));
    p.build().unwrap()
}

/// Runs `pipeline` twice on `disk` — full, then with the ballast removed — and checks what
/// each run must leave. Returns the first failure's message.
async fn fails_when_full_then_runs(disk: &SmallDisk, pipeline: &Pipeline) -> String {
    let database = disk.path("metadata.sqlite");
    let store = connect(&format!("sqlite://{}", database.display()))
        .await
        .unwrap();
    let ballast = disk.available().saturating_sub(LEFT_FREE);
    std::fs::write(disk.path("ballast"), vec![1_u8; ballast as usize]).unwrap();
    let runner = LocalRunner::new(store.clone(), disk.path("artifacts"));

    let full = runner
        .run(pipeline, BTreeMap::new())
        .await
        .unwrap_or_else(|error| panic!("the run on a full disk failed as a whole: {error}"));

    let outcome = full.node("fill").unwrap();
    assert_eq!(outcome.state, NodeState::Failed);
    let message = outcome.message.clone().unwrap_or_default();
    eprintln!("the node failed with: {message}");
    let artifacts = store.get_artifacts(&NodeQuery::all()).await.unwrap();
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0].state, ArtifactState::Abandoned);
    assert!(!Path::new(artifacts[0].uri.as_deref().unwrap()).exists());
    // The store is intact and readable, by this connection and a new one.
    drop(store);
    assert_eq!(integrity_check(&database), "ok");
    let store = connect(&format!("sqlite://{}", database.display()))
        .await
        .unwrap();
    let runs = RunHistory::new(&*store)
        .runs(pipeline, &RunPage::newest(10))
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    let storage = millrace_runner::ArtifactStorage::local(disk.path("artifacts"));
    let report = doctor::doctor(&*store, &storage, false).await.unwrap();
    assert!(report.is_healthy(), "{report:#?}");

    std::fs::remove_file(disk.path("ballast")).unwrap();
    let freed = LocalRunner::new(store.clone(), disk.path("artifacts"))
        .run(pipeline, BTreeMap::new())
        .await
        .unwrap();

    assert_eq!(freed.node("fill").unwrap().state, NodeState::Complete);
    let live = store
        .get_artifacts(&NodeQuery::all().states([ArtifactState::Live.code()]))
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    let blob = Path::new(live[0].uri.as_deref().unwrap()).join("blob.bin");
    assert_eq!(std::fs::metadata(blob).unwrap().len(), OUTPUT_BYTES as u64);
    message
}

fn integrity_check(path: &Path) -> String {
    let output = Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// That `message` says the disk is full and names the output being written.
fn says_the_disk_is_full_naming_the_output(message: &str) {
    assert!(
        message.to_lowercase().contains("no space left on device"),
        "{message}"
    );
    assert!(
        message.contains("while node `fill` wrote its output `data` ("),
        "{message}"
    );
}

#[tokio::test]
async fn a_component_that_fills_the_disk_fails_its_node_naming_the_output_and_the_next_run_works() {
    let _alone = ONE_DISK_AT_A_TIME.lock().await;
    let Some(disk) = SmallDisk::mount("a_component_that_fills_the_disk_fails_its_node") else {
        return;
    };
    says_the_disk_is_full_naming_the_output(&fails_when_full_then_runs(&disk, &in_process()).await);
}

#[tokio::test]
async fn a_command_that_fills_the_disk_fails_its_node_naming_the_output_and_the_next_run_works() {
    let _alone = ONE_DISK_AT_A_TIME.lock().await;
    let Some(disk) = SmallDisk::mount("a_command_that_fills_the_disk_fails_its_node") else {
        return;
    };
    // `dd`'s "No space left on device" could not be written into the log file on the full
    // disk: the message has it from memory.
    says_the_disk_is_full_naming_the_output(&fails_when_full_then_runs(&disk, &command()).await);
}
