//! Nothing the command line prints holds a secret. Every line written to standard output and
//! standard error — answers, notes, error messages — and every log line goes through
//! [`redact_secrets`] on its way out: a store URL's password (`postgresql://user:***@host/db`),
//! a `password=` parameter, a secret key's value. The crates below redact what they know to be
//! secret where they make a message; this is the net under all of them, for text that came
//! from elsewhere (a driver's error, a user's argument echoed back).
//!
//! Lines are redacted whole: what is written is held until a line ends (`\n` or `\r`), or the
//! writer is flushed or dropped, so that a URL written in pieces is still seen as one.

use std::io::Write;

use millrace_core::spec::validate::redact_secrets;

/// A writer that redacts each line before passing it on.
pub(crate) struct Redacting<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Redacting<W> {
    pub(crate) fn new(inner: W) -> Self {
        Redacting {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, end: usize) -> std::io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..end).collect();
        match std::str::from_utf8(&line) {
            Ok(text) => self.inner.write_all(redact_secrets(text).as_bytes()),
            Err(_) => self.inner.write_all(&line),
        }
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self
            .pending
            .iter()
            .position(|&byte| byte == b'\n' || byte == b'\r')
        {
            self.emit(end + 1)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let all = self.pending.len();
        self.emit(all)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Where log lines go: standard error, each line redacted.
pub(crate) struct RedactedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = Redacting<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting::new(std::io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::ExitCode;

    use millrace_core::BuildError;
    use millrace_core::prelude::*;

    use super::Redacting;

    const STORE: &str = "postgresql://user:s3cret@127.0.0.1:9/db";

    #[test]
    fn a_url_written_in_pieces_is_redacted_as_one_line() {
        let mut out = Vec::new();
        {
            let mut redacting = Redacting::new(&mut out);
            write!(redacting, "connecting to postgresql://user:").unwrap();
            write!(redacting, "s3cret@host/db\rnext: password=").unwrap();
            write!(redacting, "hunter2").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "connecting to postgresql://user:***@host/db\rnext: password=***"
        );
    }

    fn pipeline() -> Result<Pipeline, BuildError> {
        let mut p = Pipeline::builder("secretive");
        p.import("schema", Importer::<Schema>::new("data/schema.json"));
        p.build()
    }

    /// Runs the command line; its exit code, and everything it printed or wrote under `dir`.
    async fn cli(arguments: &[&str], dir: &std::path::Path) -> (ExitCode, String) {
        let mut all = vec!["secretive"];
        all.extend(arguments);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = crate::run(all, pipeline, &mut stdout, &mut stderr).await;
        let mut printed = String::from_utf8_lossy(&stdout).into_owned();
        printed.push_str(&String::from_utf8_lossy(&stderr));
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                printed.push_str(&String::from_utf8_lossy(&std::fs::read(path).unwrap()));
            }
        }
        (code, printed)
    }

    #[tokio::test]
    async fn no_compiled_target_holds_the_store_password() {
        for target in ["ir", "airflow", "kfp", "argo", "kubernetes"] {
            let dir = tempfile::tempdir().unwrap();
            let out = format!("{}/", dir.path().display());
            let (code, printed) = cli(
                &[
                    "compile", "--target", target, "--store", STORE, "--image", "img:1", "--out",
                    &out,
                ],
                dir.path(),
            )
            .await;
            assert!(!printed.contains("s3cret"), "{target}: {printed}");
            if target == "airflow" {
                assert!(
                    printed.contains("connections add millrace_store"),
                    "{printed}"
                );
            }
            // KFP refuses a store with a password; the rest never write it (Kubernetes
            // manifests read it from a Secret, when the binary has the target).
            let refused =
                target == "kfp" || (target == "kubernetes" && !cfg!(feature = "kubernetes"));
            let expected = if refused {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
            assert_eq!(code, expected, "{target}: {printed}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_is_named_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        for store in [STORE, "postgress://user:s3cret@127.0.0.1:9/db"] {
            let (code, printed) = cli(&["runs", "list", "--store", store], dir.path()).await;
            assert_ne!(code, ExitCode::SUCCESS);
            assert!(printed.contains("error:"), "{printed}");
            assert!(!printed.contains("s3cret"), "{printed}");
        }
    }
}
