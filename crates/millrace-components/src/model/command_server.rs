//! The serving harness of the command flavor: the model's own process, spoken to through the
//! predict contract.
//!
//! The process is started from the manifest's `predict` command, with `{model_dir}` replaced by
//! the model's directory. Once it has loaded the model it writes one line, `{"ready": true}`.
//! Each request is one line, `{"inputs": {"feature": [numbers], ...}}` — the signature's
//! features, already transformed, every row complete — and each answer one line,
//! `{"predictions": [numbers]}` or `{"error": "..."}`. Closing its input ends it. Its standard
//! error is kept (the last 16 KiB) for the messages of failures.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::manifest::MANIFEST_FILE;
use super::native::Features;
use crate::{DataError, Error, Result};

/// How long a serving process may take to load its model.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a serving process may take to answer one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The most rows sent in one request.
pub const ROWS_PER_REQUEST: usize = 16_384;

/// How much of the process's standard error is kept for error messages.
const STDERR_KEPT: usize = 16 * 1024;

/// A running serving process.
pub struct CommandServer {
    program: String,
    features: Vec<String>,
    session: Mutex<Session>,
    stderr: Arc<Mutex<String>>,
    /// How long loading the model took.
    pub load_time: Duration,
}

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
}

impl std::fmt::Debug for CommandServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandServer")
            .field("program", &self.program)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    predictions: Option<Vec<Option<f64>>>,
    #[serde(default)]
    error: Option<String>,
}

impl CommandServer {
    /// Starts `predict` for the model in `model_dir` and waits until it has loaded the model.
    pub fn start(predict: &[String], model_dir: &Path, features: Vec<String>) -> Result<Self> {
        let dir = model_dir.display().to_string();
        let argv: Vec<String> = predict
            .iter()
            .map(|part| part.replace("{model_dir}", &dir))
            .collect();
        let Some((program, arguments)) = argv.split_first() else {
            return Err(DataError::File {
                file: model_dir.join(MANIFEST_FILE).display().to_string(),
                message: "the predict command is empty".to_owned(),
            }
            .into());
        };
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| Error::ModelServer {
                program: argv.join(" "),
                problem: format!("it cannot start: {error}"),
                status: None,
                stderr: String::new(),
            })?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || keep_tail(pipe, &kept));
        }
        let (sender, answers) = std::sync::mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        let mut server = CommandServer {
            program: program.clone(),
            features,
            session: Mutex::new(Session {
                child,
                stdin,
                answers,
            }),
            stderr,
            load_time: Duration::ZERO,
        };
        let ready = server.receive(LOAD_TIMEOUT, "loading the model")?;
        let ready: serde_json::Value = serde_json::from_str(&ready).map_err(|error| {
            server.failure(&format!("its first line is not JSON ({error}): {ready}"))
        })?;
        if ready.get("ready") != Some(&serde_json::Value::Bool(true)) {
            return Err(server.failure(&format!(
                "its first line should be {{\"ready\": true}}, not {ready}"
            )));
        }
        server.load_time = started.elapsed();
        Ok(server)
    }

    /// Predictions for `features` (columns in the order given at start): one per row.
    pub fn predict(&self, features: &Features) -> Result<Vec<f64>> {
        if features.columns != self.features.len() {
            return Err(Error::Prediction {
                model: self.program.clone(),
                reason: format!(
                    "the model reads {} features, the rows have {}",
                    self.features.len(),
                    features.columns
                ),
            });
        }
        let mut predictions = Vec::with_capacity(features.rows);
        let mut first = 0;
        while first < features.rows {
            let rows = ROWS_PER_REQUEST.min(features.rows - first);
            predictions.extend(self.request(features, first, rows)?);
            first += rows;
        }
        Ok(predictions)
    }

    fn request(&self, features: &Features, first: usize, rows: usize) -> Result<Vec<f64>> {
        let mut inputs = serde_json::Map::new();
        for (column, name) in self.features.iter().enumerate() {
            let values: Vec<f64> = (first..first + rows)
                .map(|row| features.values[row * features.columns + column])
                .collect();
            inputs.insert(name.clone(), serde_json::Value::from(values));
        }
        let mut line = serde_json::to_vec(&serde_json::json!({ "inputs": inputs }))
            .map_err(|error| self.failure(&format!("a request cannot be encoded: {error}")))?;
        line.push(b'\n');
        let answer = self.exchange(&line)?;
        let answer: Answer = serde_json::from_str(&answer)
            .map_err(|error| self.failure(&format!("its answer is not JSON ({error})")))?;
        if let Some(error) = answer.error {
            return Err(Error::Prediction {
                model: format!("the model's server `{}`", self.program),
                reason: format!("it answered that it could not predict: {error}"),
            });
        }
        let predictions = answer
            .predictions
            .ok_or_else(|| self.failure("its answer has neither `predictions` nor `error`"))?;
        if predictions.len() != rows {
            return Err(self.failure(&format!(
                "it answered {} predictions for {rows} rows",
                predictions.len()
            )));
        }
        predictions
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                value.ok_or_else(|| Error::Prediction {
                    model: format!("the model's server `{}`", self.program),
                    reason: format!("it predicted no finite number for row {}", first + index),
                })
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends one request line and waits for its answer, holding the session throughout so
    /// that answers cannot be crossed between threads.
    fn exchange(&self, line: &[u8]) -> Result<String> {
        let mut session = self.lock();
        let written = match session.stdin.as_mut() {
            Some(stdin) => stdin.write_all(line).and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("its input is closed")),
        };
        if let Err(error) = written {
            drop(session);
            return Err(self.failure(&format!("sending a request failed: {error}")));
        }
        let received = session.answers.recv_timeout(REQUEST_TIMEOUT);
        drop(session);
        self.received(received, REQUEST_TIMEOUT, "predicting")
    }

    fn receive(&self, timeout: Duration, doing: &str) -> Result<String> {
        let received = self.lock().answers.recv_timeout(timeout);
        self.received(received, timeout, doing)
    }

    fn received(
        &self,
        received: std::result::Result<String, RecvTimeoutError>,
        timeout: Duration,
        doing: &str,
    ) -> Result<String> {
        match received {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => {
                Err(self.failure(&format!("no answer after {} s {doing}", timeout.as_secs())))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.failure(&format!("it ended while {doing}")))
            }
        }
    }

    /// An error about the process, with its exit status when it has ended and its last words.
    fn failure(&self, what: &str) -> Error {
        let status = {
            let mut session = self.lock();
            // Give a dying process a moment, so its status and last words are known.
            let deadline = Instant::now() + Duration::from_millis(500);
            loop {
                match session.child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => break None,
                }
            }
        };
        // The standard error reader finishes shortly after the process.
        std::thread::sleep(Duration::from_millis(50));
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .trim()
            .to_owned();
        Error::ModelServer {
            program: self.program.clone(),
            problem: what.to_owned(),
            status: status.map(|status| status.to_string()),
            stderr,
        }
    }
}

impl Drop for CommandServer {
    fn drop(&mut self) {
        let session = self
            .session
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // End of input asks the server to stop; one that does not is killed.
        session.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(session.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = session.child.kill();
        let _ = session.child.wait();
    }
}

/// Reads `pipe` to its end, keeping the last [`STDERR_KEPT`] bytes in `kept`.
fn keep_tail(pipe: impl std::io::Read, kept: &Mutex<String>) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        let mut text = kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        text.push_str(&line);
        text.push('\n');
        if text.len() > STDERR_KEPT {
            let mut cut = text.len() - STDERR_KEPT;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    fn rows(values: &[f64]) -> Features {
        Features {
            rows: values.len(),
            columns: 1,
            values: values.to_vec(),
        }
    }

    #[test]
    fn a_server_answers_requests_in_order() {
        let server = CommandServer::start(
            &sh(r#"echo '{"ready": true}'; while read -r line; do echo '{"predictions": [2.5, 3.5]}'; done"#),
            Path::new("/tmp"),
            vec!["x".into()],
        )
        .unwrap();
        assert_eq!(server.predict(&rows(&[1.0, 2.0])).unwrap(), [2.5, 3.5]);
        let wrong_count = server.predict(&rows(&[1.0])).unwrap_err().to_string();
        assert!(
            wrong_count.contains("answered 2 predictions for 1 rows"),
            "{wrong_count}"
        );
    }

    #[test]
    fn a_server_that_dies_while_loading_reports_its_stderr() {
        let error = CommandServer::start(
            &sh("echo 'cannot open {model_dir}/model.bin' >&2; exit 3"),
            Path::new("/models/7"),
            vec!["x".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("ended while loading the model"), "{error}");
        assert!(error.contains("cannot open /models/7/model.bin"), "{error}");
        assert!(error.contains("exit status: 3"), "{error}");
    }

    #[test]
    fn errors_and_missing_numbers_in_answers_are_errors() {
        let server = CommandServer::start(
            &sh(r#"echo '{"ready": true}'; read -r line; echo '{"error": "shape mismatch"}'; read -r line; echo '{"predictions": [null]}'"#),
            Path::new("/tmp"),
            vec!["x".into()],
        )
        .unwrap();
        let error = server.predict(&rows(&[1.0])).unwrap_err().to_string();
        assert!(
            error.contains("could not predict: shape mismatch"),
            "{error}"
        );
        let error = server.predict(&rows(&[1.0])).unwrap_err().to_string();
        assert!(error.contains("no finite number for row 0"), "{error}");
        // The process has ended: the request cannot be sent, or gets no answer.
        let error = server.predict(&rows(&[1.0])).unwrap_err().to_string();
        assert!(
            error.contains("ended while predicting") || error.contains("sending a request failed"),
            "{error}"
        );
    }

    #[test]
    fn a_first_line_that_is_not_ready_is_refused() {
        let error = CommandServer::start(&sh("echo hello"), Path::new("/tmp"), vec![])
            .unwrap_err()
            .to_string();
        assert!(error.contains("first line is not JSON"), "{error}");
        let error = CommandServer::start(&[], Path::new("/tmp"), vec![])
            .unwrap_err()
            .to_string();
        assert!(error.contains("predict command is empty"), "{error}");
    }
}
