//! Custom components in a few lines each, in every style Millrace offers:
//!
//! 1. a custom artifact type, `WordCounts`, with typed properties (`#[derive(Artifact)]`);
//! 2. a function component, `tokenize` (`#[millrace::component]` on an `async fn`);
//! 3. a struct component with configuration, `TopWords` (`Component` + `Execute`);
//! 4. a command component, `Archive`, that runs `tar` with placeholders for its URIs.
//!
//! The pipeline also shows a runtime parameter flowing into a struct component's
//! configuration, node options, an importer and a resolver.
//!
//! ```text
//! cargo run --example custom_component -- graph --format dot
//! cargo run --example custom_component -- compile --target ir
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use millrace::prelude::*;
use serde::{Deserialize, Serialize};

/// Word frequencies of a text, as `counts.json`.
#[derive(millrace::Artifact)]
#[artifact(base = Statistics)]
pub struct WordCounts {
    /// How many distinct words.
    pub distinct_words: i64,
    /// Whether words were lower-cased.
    pub lowercased: bool,
}

/// Counts the words of `corpus.txt`.
#[millrace::component]
async fn tokenize(
    text: Input<Dataset>,
    counts: Output<WordCounts>,
    lowercase: bool,
) -> Result<(), ComponentError> {
    let corpus = std::fs::read_to_string(text.uri().join("corpus.txt"))?;
    let mut frequencies: BTreeMap<String, u64> = BTreeMap::new();
    for word in corpus
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = if lowercase {
            word.to_lowercase()
        } else {
            word.to_owned()
        };
        *frequencies.entry(word).or_default() += 1;
    }
    std::fs::write(
        counts.uri().join("counts.json"),
        serde_json::to_vec_pretty(&frequencies)?,
    )?;
    counts.set_property("distinct_words", frequencies.len() as i64)?;
    counts.set_property("lowercased", lowercase)?;
    Ok(())
}

/// Keeps the `k` most frequent words.
#[derive(Debug, Serialize, Deserialize)]
pub struct TopWords {
    /// How many words to keep: a value or a runtime parameter.
    pub k: Param<i64>,
}

/// The input of [`TopWords`].
#[derive(millrace::Inputs)]
pub struct TopWordsInputs {
    /// The word counts.
    pub counts: Channel<WordCounts>,
}

/// The output of [`TopWords`].
#[derive(millrace::Outputs)]
pub struct TopWordsOutputs {
    /// `top.json`: the most frequent words, most frequent first.
    pub top: Channel<Metrics>,
}

impl Component for TopWords {
    const KIND: &'static str = "custom_component.TopWords";
    type Inputs = TopWordsInputs;
    type Outputs = TopWordsOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(self)
    }
}

#[millrace::async_trait]
impl Execute for TopWords {
    async fn execute(&self, context: &mut ExecutionContext) -> Result<(), ComponentError> {
        let counts = context.input::<WordCounts>("counts")?;
        let top = context.output::<Metrics>("top")?;
        let frequencies: BTreeMap<String, u64> =
            serde_json::from_slice(&std::fs::read(counts.uri().join("counts.json"))?)?;
        let mut ranked: Vec<(String, u64)> = frequencies.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(usize::try_from(*self.k.value()?).unwrap_or(0));
        std::fs::write(
            top.uri().join("top.json"),
            serde_json::to_vec_pretty(&ranked)?,
        )?;
        context.log_metric("kept_words", ranked.len() as f64);
        Ok(())
    }
}

millrace::register_component!(TopWords);

/// Packs a directory into `archive.tar.gz` with `tar`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Archive;

/// The input of [`Archive`].
#[derive(millrace::Inputs)]
pub struct ArchiveInputs {
    /// What to pack.
    pub content: Channel<Metrics>,
}

/// The output of [`Archive`].
#[derive(millrace::Outputs)]
pub struct ArchiveOutputs {
    /// The archive.
    pub archive: Channel<Dataset>,
}

impl Component for Archive {
    const KIND: &'static str = "custom_component.Archive";
    type Inputs = ArchiveInputs;
    type Outputs = ArchiveOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["tar"]).args([
            "-czf",
            "{{outputs.archive.uri}}/archive.tar.gz",
            "-C",
            "{{inputs.content.uri}}",
            ".",
        ]))
    }
}

millrace::register_component!(Archive);

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("word-counts");
    let k = p.param("k", 10_i64);
    p.describe_param(&k, "How many of the most frequent words to keep.");

    let corpus = p.import("corpus", Importer::<Dataset>::new("data/corpus"));
    let counts = p.add("tokenize", Tokenize::new(corpus.result, true));
    let top = p.add(
        "top_words",
        TopWords { k: (&k).into() }
            .with_inputs(TopWordsInputs {
                counts: counts.counts,
            })
            .retries(2)
            .timeout(Duration::from_secs(60)),
    );
    p.add(
        "archive",
        Archive
            .with_inputs(ArchiveInputs { content: top.top })
            .cpu("500m")
            .memory("256Mi"),
    );
    p.resolve("previous_counts", LatestArtifact::of(counts.counts));
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    millrace::cli::main(pipeline).await
}
