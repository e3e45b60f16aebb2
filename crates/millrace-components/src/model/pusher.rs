//! The Pusher component: copies a blessed model to a versioned serving directory, atomically.

use std::path::{Path, PathBuf};

use millrace_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{DataError, Result};

/// Copies `model` to `destination/<next version>`, where the next version is one more than the
/// highest numbered directory there (TensorFlow Serving's layout). The copy is made under a
/// hidden name and renamed into place, so a server watching `destination` never sees half a
/// model. Returns the version and its directory.
pub fn push_model(model: &Path, destination: &Path) -> Result<(u64, PathBuf)> {
    std::fs::create_dir_all(destination).map_err(|error| DataError::io(destination, error))?;
    let latest = std::fs::read_dir(destination)
        .map_err(|error| DataError::io(destination, error))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let version = latest + 1;
    let staging = destination.join(format!(".staging-{version}-{}", std::process::id()));
    copy_dir(model, &staging)?;
    let target = destination.join(version.to_string());
    std::fs::rename(&staging, &target).map_err(|error| DataError::io(&target, error))?;
    Ok((version, target))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|error| DataError::io(to, error))?;
    for entry in std::fs::read_dir(from).map_err(|error| DataError::io(from, error))? {
        let entry = entry.map_err(|error| DataError::io(from, error))?;
        let target = to.join(entry.file_name());
        if entry
            .file_type()
            .map_err(|error| DataError::io(&entry.path(), error))?
            .is_dir()
        {
            copy_dir(&entry.path(), &target)?;
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

    fn execution(&self) -> Execution<'_> {
        Execution::InProcess(self)
    }
}

fn is_blessed(property: Option<&serde_json::Value>) -> bool {
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
            return Ok(());
        }
        let (version, target) = push_model(model.uri(), Path::new(&self.destination))?;
        pushed.set_property("pushed", true)?;
        pushed.set_property("pushed_version", version.to_string())?;
        std::fs::write(
            pushed.uri().join("destination.txt"),
            target.display().to_string(),
        )?;
        context.log(format!("pushed version {version} to {}", target.display()));
        Ok(())
    }
}

millrace_core::register_component!(Pusher);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
        let (first, path) = push_model(&model, &serving).unwrap();
        assert_eq!(first, 1);
        assert_eq!(
            std::fs::read_to_string(path.join("assets/vocab.txt")).unwrap(),
            "a\nb\n"
        );
        std::fs::create_dir_all(serving.join("7")).unwrap();
        let (next, _) = push_model(&model, &serving).unwrap();
        assert_eq!(next, 8);
        let leftovers: Vec<_> = std::fs::read_dir(&serving)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
            .filter(|name| name.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
