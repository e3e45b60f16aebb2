//! The Pusher component: copies a blessed model to a versioned serving directory, atomically.

use std::path::{Path, PathBuf};

use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{DataError, Result};

/// What [`push_model`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// The model is the new highest version.
    Pushed {
        /// Its version.
        version: u64,
        /// Its directory.
        dir: PathBuf,
    },
    /// The highest version already holds exactly this model (the same files, byte for byte):
    /// nothing was copied.
    AlreadyServing {
        /// That version.
        version: u64,
        /// Its directory.
        dir: PathBuf,
    },
}

/// Copies `model` to `destination/<next version>`, where the next version is one more than the
/// highest numbered directory there (TensorFlow Serving's layout), unless the highest version
/// holds the same model already. The copy is made under a hidden name and renamed into place,
/// so a server watching `destination` never sees half a model.
pub fn push_model(model: &Path, destination: &Path) -> Result<Push> {
    std::fs::create_dir_all(destination).map_err(|error| DataError::io(destination, error))?;
    let latest = std::fs::read_dir(destination)
        .map_err(|error| DataError::io(destination, error))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max();
    if let Some(latest) = latest {
        let dir = destination.join(latest.to_string());
        if same_files(model, &dir)? {
            return Ok(Push::AlreadyServing {
                version: latest,
                dir,
            });
        }
    }
    let version = latest.unwrap_or(0) + 1;
    let staging = destination.join(format!(".staging-{version}-{}", std::process::id()));
    copy_model(model, &staging)?;
    let target = destination.join(version.to_string());
    std::fs::rename(&staging, &target).map_err(|error| DataError::io(&target, error))?;
    Ok(Push::Pushed {
        version,
        dir: target,
    })
}

/// The files under `dir`, by relative path.
fn files_of(dir: &Path, prefix: &Path, found: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|error| DataError::io(dir, error))? {
        let entry = entry.map_err(|error| DataError::io(dir, error))?;
        let relative = prefix.join(entry.file_name());
        let is_dir = entry
            .file_type()
            .map_err(|error| DataError::io(&entry.path(), error))?
            .is_dir();
        if is_dir {
            files_of(&entry.path(), &relative, found)?;
        } else {
            found.push((relative, entry.path()));
        }
    }
    Ok(())
}

/// Whether two directories hold the same files with the same bytes.
fn same_files(a: &Path, b: &Path) -> Result<bool> {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    files_of(a, Path::new(""), &mut left)?;
    files_of(b, Path::new(""), &mut right)?;
    left.sort();
    right.sort();
    if left.len() != right.len() || left.iter().zip(&right).any(|(l, r)| l.0 != r.0) {
        return Ok(false);
    }
    for ((_, l), (_, r)) in left.iter().zip(&right) {
        let size = |path: &Path| {
            std::fs::metadata(path)
                .map(|m| m.len())
                .map_err(|error| DataError::io(path, error))
        };
        if size(l)? != size(r)? {
            return Ok(false);
        }
        let read = |path: &Path| std::fs::read(path).map_err(|error| DataError::io(path, error));
        if read(l)? != read(r)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Copies the model directory `from` (with its subdirectories) to `to`.
pub fn copy_model(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|error| DataError::io(to, error))?;
    for entry in std::fs::read_dir(from).map_err(|error| DataError::io(from, error))? {
        let entry = entry.map_err(|error| DataError::io(from, error))?;
        let target = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(|error| DataError::io(&entry.path(), error))?
            .is_dir()
        {
            copy_model(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|error| DataError::io(&target, error))?;
        }
    }
    Ok(())
}

/// Pushes a model when its evaluator blessed it (and its infra validator, when given):
/// `Pusher::new(trained.model, evaluated.blessing, "serving/taxi")`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pusher {
    /// The serving directory; versions are numbered subdirectories.
    pub destination: String,
}

/// The inputs of Pusher.
#[derive(millrace_macros::Inputs)]
#[millrace(crate = millrace_core)]
pub struct PusherInputs {
    /// The model.
    pub model: Channel<Model>,
    /// The evaluator's verdict.
    pub blessing: Channel<ModelBlessing>,
    /// The infra validator's verdict, when the pipeline has one.
    pub infra_blessing: Option<Channel<InfraBlessing>>,
}

/// The output of Pusher.
#[derive(millrace_macros::Outputs)]
#[millrace(crate = millrace_core)]
pub struct PusherOutputs {
    /// Whether, where and as which version the model was pushed.
    pub pushed_model: Channel<PushedModel>,
}

impl Pusher {
    /// Pushes `model` to `destination` when `blessing` says so.
    pub fn new(
        model: Channel<Model>,
        blessing: Channel<ModelBlessing>,
        destination: &str,
    ) -> Node<Pusher> {
        Pusher {
            destination: destination.to_owned(),
        }
        .with_inputs(PusherInputs {
            model,
            blessing,
            infra_blessing: None,
        })
    }
}

impl Pusher {
    /// Pushes `model` when both the evaluator and the infra validator blessed it.
    pub fn with_infra(
        model: Channel<Model>,
        blessing: Channel<ModelBlessing>,
        infra_blessing: Channel<InfraBlessing>,
        destination: &str,
    ) -> Node<Pusher> {
        Pusher {
            destination: destination.to_owned(),
        }
        .with_inputs(PusherInputs {
            model,
            blessing,
            infra_blessing: Some(infra_blessing),
        })
    }
}

impl Component for Pusher {
    const KIND: &'static str = "millrace.Pusher";
    type Inputs = PusherInputs;
    type Outputs = PusherOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

/// Whether a blessing's `blessed` property says yes (a bool, or 1 from stores that keep ints).
pub(crate) fn is_blessed(property: Option<&serde_json::Value>) -> bool {
    match property {
        Some(serde_json::Value::Bool(blessed)) => *blessed,
        Some(serde_json::Value::Number(number)) => number.as_i64() == Some(1),
        _ => false,
    }
}

#[async_trait::async_trait]
impl Execute for Pusher {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let model = context.input::<Model>("model")?;
        let blessing = context.input::<ModelBlessing>("blessing")?;
        let infra = context.optional_input::<InfraBlessing>("infra_blessing")?;
        let pushed = context.output::<PushedModel>("pushed_model")?;
        let blessed = is_blessed(blessing.property("blessed"))
            && infra
                .as_ref()
                .is_none_or(|infra| is_blessed(infra.property("blessed")));
        pushed.set_property("destination", self.destination.clone())?;
        if !blessed {
            pushed.set_property("pushed", false)?;
            context.log("not pushed: the model is not blessed");
            context.set_summary("not pushed: the model is not blessed");
            return Ok(());
        }
        let push = push_model(model.uri(), Path::new(&self.destination))?;
        let (version, target, what) = match &push {
            Push::Pushed { version, dir } => (version, dir, "pushed"),
            Push::AlreadyServing { version, dir } => (version, dir, "already serving"),
        };
        pushed.set_property("pushed", matches!(push, Push::Pushed { .. }))?;
        pushed.set_property("pushed_version", version.to_string())?;
        std::fs::write(
            pushed.uri().join("destination.txt"),
            target.display().to_string(),
        )?;
        let shown = std::path::absolute(target).unwrap_or_else(|_| target.clone());
        let summary = format!("{what} as version {version} in {}", shown.display());
        context.log(summary.clone());
        context.set_summary(summary);
        Ok(())
    }
}

millrace_core::register_component!(Pusher);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_and_copies_are_whole() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir_all(model.join("assets")).unwrap();
        std::fs::write(model.join("manifest.json"), "{}").unwrap();
        std::fs::write(model.join("assets/vocab.txt"), "a\nb\n").unwrap();
        let serving = dir.path().join("serving");
        let Push::Pushed { version: 1, dir } = push_model(&model, &serving).unwrap() else {
            panic!("version 1 expected");
        };
        assert_eq!(
            std::fs::read_to_string(dir.join("assets/vocab.txt")).unwrap(),
            "a\nb\n"
        );
        // The same model again: already serving, nothing copied.
        assert_eq!(
            push_model(&model, &serving).unwrap(),
            Push::AlreadyServing {
                version: 1,
                dir: serving.join("1")
            }
        );
        // A changed model is a new version.
        std::fs::write(model.join("assets/vocab.txt"), "a\nc\n").unwrap();
        assert!(matches!(
            push_model(&model, &serving).unwrap(),
            Push::Pushed { version: 2, .. }
        ));
        std::fs::create_dir_all(serving.join("7")).unwrap();
        assert!(matches!(
            push_model(&model, &serving).unwrap(),
            Push::Pushed { version: 8, .. }
        ));
        let leftovers: Vec<_> = std::fs::read_dir(&serving)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
