//! Command (container) components: an image, a command and arguments with placeholders.
//!
//! Placeholders are written `{{...}}` inside any command, argument or environment value:
//!
//! | placeholder | becomes |
//! |---|---|
//! | `{{inputs.NAME.uri}}` | the URI of input `NAME`'s artifact |
//! | `{{inputs.NAME.properties.KEY}}` | a property of input `NAME`'s artifact |
//! | `{{outputs.NAME.uri}}` | the URI to write output `NAME` into |
//! | `{{parameters.NAME}}` | the value of runtime parameter `NAME` |
//! | `{{run_id}}`, `{{node_id}}`, `{{pipeline}}` | the run, the node, the pipeline name |
//! | `{{executor_output}}` | the path where the command may write `executor_output.json` |
//!
//! Pipeline validation checks every placeholder against the node's inputs, outputs and the
//! pipeline's parameters, so a typo fails before anything runs.
//!
//! ```
//! use millrace_core::spec::command::{CommandSpec, Placeholder};
//!
//! let command = CommandSpec::new(["python3", "train.py"])
//!     .image("python:3.11-slim")
//!     .args(["--examples", "{{inputs.examples.uri}}", "--model", "{{outputs.model.uri}}"]);
//! let placeholders = command.placeholders().unwrap();
//! assert_eq!(placeholders[0], Placeholder::InputUri("examples".into()));
//! let expanded = command
//!     .expand(|placeholder| match placeholder {
//!         Placeholder::InputUri(_) => Some("/data/examples".into()),
//!         Placeholder::OutputUri(_) => Some("/data/model".into()),
//!         _ => None,
//!     })
//!     .unwrap();
//! assert_eq!(expanded.args[1], "/data/examples");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a command component runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The container image for container runners; local runs ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The program and its fixed leading arguments (the container's entrypoint).
    pub command: Vec<String>,
    /// Further arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The working directory, if not the launcher's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

impl CommandSpec {
    /// A command: the program followed by its fixed arguments.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandSpec {
            image: None,
            command: command.into_iter().map(Into::into).collect(),
            args: Vec::new(),
            env: BTreeMap::new(),
            working_dir: None,
        }
    }

    /// The container image.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn working_dir(mut self, dir: impl Into<String>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    fn texts(&self) -> impl Iterator<Item = &String> {
        self.command
            .iter()
            .chain(&self.args)
            .chain(self.env.values())
            .chain(&self.working_dir)
    }

    /// Every placeholder, in order of appearance.
    pub fn placeholders(&self) -> Result<Vec<Placeholder>, PlaceholderError> {
        let mut found = Vec::new();
        for text in self.texts() {
            for piece in split_placeholders(text)? {
                if let Piece::Placeholder(placeholder) = piece {
                    found.push(placeholder);
                }
            }
        }
        Ok(found)
    }

    /// The command with every placeholder replaced by `value_of`'s answer.
    pub fn expand(
        &self,
        mut value_of: impl FnMut(&Placeholder) -> Option<String>,
    ) -> Result<CommandSpec, PlaceholderError> {
        let mut expand_text = |text: &String| -> Result<String, PlaceholderError> {
            let mut expanded = String::with_capacity(text.len());
            for piece in split_placeholders(text)? {
                match piece {
                    Piece::Text(literal) => expanded.push_str(literal),
                    Piece::Placeholder(placeholder) => match value_of(&placeholder) {
                        Some(value) => expanded.push_str(&value),
                        None => return Err(PlaceholderError::Unresolved(placeholder)),
                    },
                }
            }
            Ok(expanded)
        };
        Ok(CommandSpec {
            image: self.image.clone(),
            command: self
                .command
                .iter()
                .map(&mut expand_text)
                .collect::<Result<_, _>>()?,
            args: self
                .args
                .iter()
                .map(&mut expand_text)
                .collect::<Result<_, _>>()?,
            env: self
                .env
                .iter()
                .map(|(name, value)| Ok((name.clone(), expand_text(value)?)))
                .collect::<Result<_, PlaceholderError>>()?,
            working_dir: self.working_dir.as_ref().map(expand_text).transpose()?,
        })
    }
}

/// One `{{...}}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    /// `{{inputs.NAME.uri}}`
    InputUri(String),
    /// `{{inputs.NAME.properties.KEY}}`
    InputProperty(String, String),
    /// `{{outputs.NAME.uri}}`
    OutputUri(String),
    /// `{{parameters.NAME}}`
    Parameter(String),
    /// `{{run_id}}`
    RunId,
    /// `{{node_id}}`
    NodeId,
    /// `{{pipeline}}`
    Pipeline,
    /// `{{executor_output}}`
    ExecutorOutput,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placeholder::InputUri(name) => write!(f, "{{{{inputs.{name}.uri}}}}"),
            Placeholder::InputProperty(name, key) => {
                write!(f, "{{{{inputs.{name}.properties.{key}}}}}")
            }
            Placeholder::OutputUri(name) => write!(f, "{{{{outputs.{name}.uri}}}}"),
            Placeholder::Parameter(name) => write!(f, "{{{{parameters.{name}}}}}"),
            Placeholder::RunId => f.write_str("{{run_id}}"),
            Placeholder::NodeId => f.write_str("{{node_id}}"),
            Placeholder::Pipeline => f.write_str("{{pipeline}}"),
            Placeholder::ExecutorOutput => f.write_str("{{executor_output}}"),
        }
    }
}

impl std::str::FromStr for Placeholder {
    type Err = PlaceholderError;

    /// Parses the inside of `{{...}}`.
    fn from_str(inner: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = inner.trim().split('.').collect();
        let placeholder = match parts.as_slice() {
            ["inputs", name, "uri"] => Placeholder::InputUri((*name).to_owned()),
            ["inputs", name, "properties", key] => {
                Placeholder::InputProperty((*name).to_owned(), (*key).to_owned())
            }
            ["outputs", name, "uri"] => Placeholder::OutputUri((*name).to_owned()),
            ["parameters", name] => Placeholder::Parameter((*name).to_owned()),
            ["run_id"] => Placeholder::RunId,
            ["node_id"] => Placeholder::NodeId,
            ["pipeline"] => Placeholder::Pipeline,
            ["executor_output"] => Placeholder::ExecutorOutput,
            _ => return Err(PlaceholderError::Unknown(inner.to_owned())),
        };
        let names_are_present = parts.iter().all(|part| !part.is_empty());
        if names_are_present {
            Ok(placeholder)
        } else {
            Err(PlaceholderError::Unknown(inner.to_owned()))
        }
    }
}

/// A placeholder that cannot be parsed or has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// Not one of the placeholders this version knows.
    #[error(
        "unknown placeholder `{{{{{0}}}}}` (expected inputs.NAME.uri, inputs.NAME.properties.KEY, outputs.NAME.uri, parameters.NAME, run_id, node_id, pipeline or executor_output)"
    )]
    Unknown(String),
    /// `{{` without a closing `}}`.
    #[error("unterminated placeholder in `{0}`")]
    Unterminated(String),
    /// A placeholder the executor could not fill.
    #[error("placeholder `{0}` has no value")]
    Unresolved(Placeholder),
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(Placeholder),
}

fn split_placeholders(text: &str) -> Result<Vec<Piece<'_>>, PlaceholderError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let after_open = &rest[start + 2..];
        let Some(end) = after_open.find("}}") else {
            return Err(PlaceholderError::Unterminated(text.to_owned()));
        };
        pieces.push(Piece::Placeholder(after_open[..end].parse()?));
        rest = &after_open[end + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_parse_inside_longer_arguments() {
        let command = CommandSpec::new(["sh", "-c"])
            .args(["--alpha={{parameters.alpha}} --out {{outputs.model.uri}}/m.bin"])
            .env("RUN", "{{run_id}}");
        assert_eq!(
            command.placeholders().unwrap(),
            vec![
                Placeholder::Parameter("alpha".into()),
                Placeholder::OutputUri("model".into()),
                Placeholder::RunId,
            ]
        );
        let expanded = command
            .expand(|placeholder| Some(format!("<{placeholder:?}>")))
            .unwrap();
        assert_eq!(
            expanded.args[0],
            r#"--alpha=<Parameter("alpha")> --out <OutputUri("model")>/m.bin"#
        );
    }

    #[test]
    fn bad_placeholders_are_reported() {
        let unknown = CommandSpec::new(["x", "{{inputs.examples}}"]);
        assert!(matches!(
            unknown.placeholders(),
            Err(PlaceholderError::Unknown(_))
        ));
        let unterminated = CommandSpec::new(["x", "{{run_id"]);
        assert!(matches!(
            unterminated.placeholders(),
            Err(PlaceholderError::Unterminated(_))
        ));
        let empty_name = CommandSpec::new(["{{outputs..uri}}"]);
        assert!(empty_name.placeholders().is_err());
        let unresolved = CommandSpec::new(["{{node_id}}"]).expand(|_| None);
        assert_eq!(
            unresolved,
            Err(PlaceholderError::Unresolved(Placeholder::NodeId))
        );
    }

    #[test]
    fn display_is_the_inverse_of_parsing() {
        for text in [
            "inputs.a.uri",
            "inputs.a.properties.span",
            "outputs.b.uri",
            "parameters.c",
            "run_id",
            "node_id",
            "pipeline",
            "executor_output",
        ] {
            let placeholder: Placeholder = text.parse().unwrap();
            assert_eq!(placeholder.to_string(), format!("{{{{{text}}}}}"));
        }
    }
}
