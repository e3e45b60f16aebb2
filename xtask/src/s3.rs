//! An S3-compatible server for the object-storage suites: moto's server (`moto[server]`, from
//! the interop virtual environment) on 127.0.0.1, with a bucket made for the tests.
//!
//! Why moto rather than `s3s-fs` (crates.io): it is the server the Python world tests against,
//! it speaks the whole S3 API the `object_store` client and `boto3` use (multipart uploads,
//! range reads, batch deletes, bucket policies), it needs no extra build (the interop venv is
//! there anyway, with `boto3` for the side-by-side benchmark), and it keeps objects in memory,
//! spooled to disk, so a run leaves nothing behind.
//!
//! The tests get `MILLRACE_TEST_S3_ENDPOINT` (`http://127.0.0.1:PORT`) and the bucket
//! `MILLRACE_TEST_S3_BUCKET`; credentials are moto's to ignore (`AWS_ACCESS_KEY_ID=testing`).
//! The server stops when [`Server`] is dropped.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres::free_port;
use crate::process::capture;

/// The environment variable naming the server's endpoint.
pub const ENDPOINT_VAR: &str = "MILLRACE_TEST_S3_ENDPOINT";

/// The environment variable naming the tests' bucket.
pub const BUCKET_VAR: &str = "MILLRACE_TEST_S3_BUCKET";

/// The bucket made for the tests.
pub const BUCKET: &str = "millrace-test";

/// A running moto server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts moto's server with the venv's `python` and makes the tests' bucket.
    pub fn start(python: &Path) -> Result<Server, String> {
        let port = free_port()?;
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| {
                format!(
                    "cannot start moto's server with {}: {error}",
                    python.display()
                )
            })?;
        let mut server = Server { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return Err(format!("moto's server exited ({status}): {stderr}"));
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "moto's server did not listen on port {port} within 60 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Nothing reads its request log: let it go to /dev/null from here on.
        drop(server.child.stderr.take());
        let script = format!(
            "import boto3\n\
             boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\
             .create_bucket(Bucket='{BUCKET}')\n",
            server.endpoint()
        );
        capture(Command::new(python).args(["-c", &script]))?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
