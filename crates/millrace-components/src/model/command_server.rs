//! The serving harness of the command flavor: the model's own process, spoken to through the
//! predict contract.
//!
//! The process is started from the manifest's `predict` command, with `{model_dir}` replaced by
//! the model's directory. Once it has loaded the model it writes one line, `{"ready": true}`.
//! Each request is one line, `{"inputs": {"feature": [numbers], ...}}` — the signature's
//! features, already transformed, every row complete — and each answer one line, or
//! `{"error": "..."}`. Closing its input ends it. Its standard error is kept (the last 16 KiB)
//! for the messages of failures.
//!
//! The answer of a regression (or of a binary classifier: the probability of class 1) is one
//! number per row:
//!
//! ```json
//! {"predictions": [12.5, 7.25]}
//! ```
//!
//! The answer of a classifier (a manifest whose task is `classification`) is, per row, the
//! predicted class and the probability of every class:
//!
//! ```json
//! {"classes": ["Adelie", "Chinstrap", "Gentoo"],
//!  "predictions": ["Gentoo", "Adelie"],
//!  "probabilities": [[0.01, 0.04, 0.95], [0.9, 0.08, 0.02]]}
//! ```
//!
//! `probabilities` is required, one row per request row in the order of `classes`; `classes`
//! may be left out when the probabilities follow the manifest's `signature.classes` order, and
//! may name them in another order (they are reordered). `predictions` may be left out (the
//! most probable class is used); when given, each must be one of the classes. A class the
//! model was not trained on is an error, as is a probability outside `[0, 1]`.

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
    predictions: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    probabilities: Option<Vec<Vec<Option<f64>>>>,
    #[serde(default)]
    classes: Option<Vec<String>>,
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
        self.check_columns(features)?;
        let mut predictions = Vec::with_capacity(features.rows);
        let mut first = 0;
        while first < features.rows {
            let rows = ROWS_PER_REQUEST.min(features.rows - first);
            let answer = self.request(features, first, rows)?;
            predictions.extend(self.values_of(answer, first, rows)?);
            first += rows;
        }
        Ok(predictions)
    }

    /// A classifier's probabilities for `features`: per row, one per class of `classes` (the
    /// manifest's), in that order.
    pub fn predict_classes(
        &self,
        features: &Features,
        classes: &[String],
    ) -> Result<Vec<Vec<f64>>> {
        self.check_columns(features)?;
        let mut probabilities = Vec::with_capacity(features.rows);
        let mut first = 0;
        while first < features.rows {
            let rows = ROWS_PER_REQUEST.min(features.rows - first);
            let answer = self.request(features, first, rows)?;
            probabilities.extend(self.probabilities_of(answer, classes, first, rows)?);
            first += rows;
        }
        Ok(probabilities)
    }

    fn check_columns(&self, features: &Features) -> Result<()> {
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
        Ok(())
    }

    /// An error about what the server answered (it is running).
    fn wrong_answer(&self, reason: String) -> Error {
        Error::Prediction {
            model: format!("the model's server `{}`", self.program),
            reason,
        }
    }

    /// The numbers of a regression's answer.
    fn values_of(&self, answer: Answer, first: usize, rows: usize) -> Result<Vec<f64>> {
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
            .map(|(index, value)| match value {
                serde_json::Value::Number(number) => number.as_f64().ok_or_else(|| {
                    self.wrong_answer(format!(
                        "it predicted no finite number for row {}",
                        first + index
                    ))
                }),
                serde_json::Value::String(class) => Err(self.wrong_answer(format!(
                    "it predicted class `{class}` for row {} where the manifest's task wants a \
                     number: a classifier's manifest says `\"task\": \"classification\"` and \
                     lists its classes",
                    first + index
                ))),
                _ => Err(self.wrong_answer(format!(
                    "it predicted no finite number for row {}",
                    first + index
                ))),
            })
            .collect()
    }

    /// The probabilities of a classifier's answer, reordered into `classes`' order.
    fn probabilities_of(
        &self,
        answer: Answer,
        classes: &[String],
        first: usize,
        rows: usize,
    ) -> Result<Vec<Vec<f64>>> {
        let probabilities = answer.probabilities.ok_or_else(|| {
            self.failure(
                "its answer has no `probabilities` (a classifier answers `classes`, \
                 `predictions` and `probabilities`) nor `error`",
            )
        })?;
        if probabilities.len() != rows {
            return Err(self.failure(&format!(
                "it answered {} rows of probabilities for {rows} rows",
                probabilities.len()
            )));
        }
        let unknown = |class: &str| {
            self.wrong_answer(format!(
                "it answered class `{class}`, which the model was not trained on (its classes: {})",
                classes.join(", ")
            ))
        };
        // For each answered column, the class's index in the manifest's order.
        let order: Vec<usize> = match &answer.classes {
            Some(answered) => {
                let order = answered
                    .iter()
                    .map(|class| {
                        classes
                            .iter()
                            .position(|c| c == class)
                            .ok_or_else(|| unknown(class))
                    })
                    .collect::<Result<Vec<_>>>()?;
                if answered.len() != classes.len()
                    || (0..classes.len()).any(|class| !order.contains(&class))
                {
                    return Err(self.wrong_answer(format!(
                        "it answered classes {answered:?}, the manifest lists {classes:?}"
                    )));
                }
                order
            }
            None => (0..classes.len()).collect(),
        };
        if let Some(predictions) = &answer.predictions {
            for (index, prediction) in predictions.iter().enumerate() {
                match prediction {
                    serde_json::Value::String(class) if classes.contains(class) => {}
                    serde_json::Value::String(class) => return Err(unknown(class)),
                    other => {
                        return Err(self.wrong_answer(format!(
                            "its prediction for row {} is {other}, not one of the classes",
                            first + index
                        )));
                    }
                }
            }
        }
        probabilities
            .into_iter()
            .enumerate()
            .map(|(index, row)| {
                let row_number = first + index;
                if row.len() != order.len() {
                    return Err(self.wrong_answer(format!(
                        "it answered {} probabilities for row {row_number}, the model has {} classes",
                        row.len(),
                        order.len()
                    )));
                }
                let mut reordered = vec![0.0; order.len()];
                for (&class, value) in order.iter().zip(row) {
                    match value {
                        Some(p) if (0.0..=1.0).contains(&p) => reordered[class] = p,
                        other => {
                            return Err(self.wrong_answer(format!(
                                "its probability of class `{}` for row {row_number} is {}, not \
                                 a number in [0, 1]",
                                classes[class],
                                other.map_or("null".to_owned(), |p| p.to_string())
                            )));
                        }
                    }
                }
                Ok(reordered)
            })
            .collect()
    }

    fn request(&self, features: &Features, first: usize, rows: usize) -> Result<Answer> {
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
            return Err(
                self.wrong_answer(format!("it answered that it could not predict: {error}"))
            );
        }
        Ok(answer)
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

    fn species() -> Vec<String> {
        ["Adelie", "Chinstrap", "Gentoo"].map(String::from).to_vec()
    }

    #[test]
    fn a_classifier_answers_classes_and_probabilities_reordered_into_the_manifests_order() {
        let server = CommandServer::start(
            &sh(r#"echo '{"ready": true}'; read -r line; echo '{"classes": ["Gentoo", "Adelie", "Chinstrap"], "predictions": ["Gentoo", "Adelie"], "probabilities": [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]]}'; read -r line; echo '{"probabilities": [[0.5, 0.25, 0.25], [0, 0, 1]]}'"#),
            Path::new("/tmp"),
            vec!["x".into()],
        )
        .unwrap();
        let answered = server
            .predict_classes(&rows(&[1.0, 2.0]), &species())
            .unwrap();
        assert_eq!(answered, [[0.2, 0.1, 0.7], [0.6, 0.3, 0.1]]);
        // Without `classes`, the probabilities are in the manifest's order.
        let answered = server
            .predict_classes(&rows(&[1.0, 2.0]), &species())
            .unwrap();
        assert_eq!(answered, [[0.5, 0.25, 0.25], [0.0, 0.0, 1.0]]);
    }

    #[test]
    fn a_class_the_model_was_not_trained_on_is_an_error() {
        let server = CommandServer::start(
            &sh(r#"echo '{"ready": true}'; read -r line; echo '{"predictions": ["Emperor"], "probabilities": [[0.2, 0.3, 0.5]]}'; read -r line; echo '{"classes": ["Adelie", "Chinstrap", "Emperor"], "probabilities": [[0.2, 0.3, 0.5]]}'; read -r line; echo '{"probabilities": [[0.2, 1.3, 0.5]]}'; read -r line; echo '{"predictions": ["Gentoo"]}'"#),
            Path::new("/tmp"),
            vec!["x".into()],
        )
        .unwrap();
        for expected in [
            "answered class `Emperor`, which the model was not trained on",
            "answered class `Emperor`, which the model was not trained on",
            "probability of class `Chinstrap` for row 0 is 1.3",
            "no `probabilities`",
        ] {
            let error = server
                .predict_classes(&rows(&[1.0]), &species())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn a_class_where_a_number_is_expected_says_so() {
        let server = CommandServer::start(
            &sh(r#"echo '{"ready": true}'; read -r line; echo '{"predictions": ["Gentoo"]}'"#),
            Path::new("/tmp"),
            vec!["x".into()],
        )
        .unwrap();
        let error = server.predict(&rows(&[1.0])).unwrap_err().to_string();
        assert!(
            error.contains("predicted class `Gentoo` for row 0"),
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
