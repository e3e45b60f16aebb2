//! The canonical IR and the fingerprint of a representative pipeline, pinned as they were
//! before the builder, validation and serialisation were made faster (issue 17, item 3): any
//! change to either — a byte of the JSON, a bit of the hash — fails here. A fingerprint that
//! drifts invalidates every cached result and every compiled pipeline, so a change of the IR
//! format must be deliberate: update the pins together with the schema version.
//!
//! The pipeline has something of everything the IR holds: runtime parameters of every type (with
//! and without defaults and descriptions), configurations with parameter references and text
//! that needs escaping, a `when` condition, a sharded component, a command component, every
//! resolver strategy, an importer with properties, node options, an exit handler, a schedule, a
//! data trigger, tags, a description and a root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly.

use std::collections::BTreeMap;

use millrace_core::prelude::*;
use millrace_core::{ErasedChannel, Fingerprint};
use serde::{Deserialize, Serialize};

/// Outputs made of one channel called `$name` of artifact type `$artifact`.
macro_rules! single_output {
    ($outputs:ident, $name:ident, $artifact:ty) => {
        struct $outputs {
            $name: Channel<$artifact>,
        }

        impl OutputSet for $outputs {
            fn declarations() -> Vec<OutputDeclaration> {
                vec![OutputDeclaration::of::<$artifact>(stringify!($name))]
            }
            fn bind(node: NodeHandle) -> Self {
                $outputs {
                    $name: node.channel(stringify!($name)),
                }
            }
        }
    };
}

single_output!(ExamplesOutput, examples, Examples);
single_output!(StatisticsOutput, statistics, ExampleStatistics);
single_output!(ModelOutput, model, Model);
single_output!(BlessingOutput, blessing, ModelBlessing);

/// Inputs made of one required channel `examples`.
struct ExamplesInput {
    examples: Channel<Examples>,
}

impl InputSet for ExamplesInput {
    fn declarations() -> Vec<InputDeclaration> {
        vec![InputDeclaration::required::<Examples>("examples")]
    }
    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)> {
        vec![("examples", Some(self.examples.erase()))]
    }
}

/// A component that does nothing in process.
struct Idle;

#[millrace_core::__private::async_trait]
impl Execute for Idle {
    async fn execute(&self, _context: &mut ExecutionContext) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// Reads files into examples; its configuration holds text that JSON must escape.
#[derive(Serialize, Deserialize)]
struct Ingest {
    pattern: String,
    seed: Param<i64>,
    splits: BTreeMap<String, f64>,
    note: Option<String>,
}

impl Component for Ingest {
    const KIND: &'static str = "pinned.Ingest";
    const VERSION: u32 = 3;
    type Inputs = ();
    type Outputs = ExamplesOutput;
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

/// Computes statistics, shard by shard.
#[derive(Serialize, Deserialize)]
struct Statistics {
    top_k: Param<i64>,
    sample_rate: Param<f64>,
    features: Vec<String>,
}

impl Component for Statistics {
    const KIND: &'static str = "pinned.Statistics";
    const SHARDABLE: bool = true;
    type Inputs = ExamplesInput;
    type Outputs = StatisticsOutput;
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

/// The inputs of [`Train`].
struct TrainInputs {
    examples: Channel<Examples>,
    baseline: Option<Channel<Model>>,
}

impl InputSet for TrainInputs {
    fn declarations() -> Vec<InputDeclaration> {
        vec![
            InputDeclaration::required::<Examples>("examples"),
            InputDeclaration::optional::<Model>("baseline"),
        ]
    }
    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)> {
        vec![
            ("examples", Some(self.examples.erase())),
            ("baseline", self.baseline.as_ref().map(Channel::erase)),
        ]
    }
}

/// Trains a model with a command.
#[derive(Serialize, Deserialize)]
struct Train {
    epochs: Param<i64>,
    learning_rate: f64,
    layers: Vec<u32>,
    options: serde_json::Value,
}

impl Component for Train {
    const KIND: &'static str = "pinned.Train";
    const VERSION: u32 = 2;
    type Inputs = TrainInputs;
    type Outputs = ModelOutput;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(
            CommandSpec::new(["python", "-m", "trainer"])
                .image("registry.example/trainer:1.4")
                .args([
                    "--examples={{inputs.examples.uri}}",
                    "--span={{inputs.examples.properties.span}}",
                    "--model={{outputs.model.uri}}",
                    "--epochs={{parameters.epochs}}",
                    "--run={{run_id}}",
                ])
                .env("MODE", "train")
                .working_dir("/work"),
        )
    }
}

/// The inputs of [`Evaluate`].
struct EvaluateInputs {
    model: Channel<Model>,
    baseline: Option<Channel<Model>>,
}

impl InputSet for EvaluateInputs {
    fn declarations() -> Vec<InputDeclaration> {
        vec![
            InputDeclaration::required::<Model>("model"),
            InputDeclaration::optional::<Model>("baseline"),
        ]
    }
    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)> {
        vec![
            ("model", Some(self.model.erase())),
            ("baseline", self.baseline.as_ref().map(Channel::erase)),
        ]
    }
}

/// Blesses a model or not.
#[derive(Serialize, Deserialize)]
struct Evaluate {
    threshold: Param<f64>,
}

impl Component for Evaluate {
    const KIND: &'static str = "pinned.Evaluate";
    type Inputs = EvaluateInputs;
    type Outputs = BlessingOutput;
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

/// The inputs of [`Push`].
struct PushInputs {
    model: Channel<Model>,
}

impl InputSet for PushInputs {
    fn declarations() -> Vec<InputDeclaration> {
        vec![InputDeclaration::required::<Model>("model")]
    }
    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)> {
        vec![("model", Some(self.model.erase()))]
    }
}

/// Pushes a model somewhere.
#[derive(Serialize, Deserialize)]
struct Push {
    destination: Param<String>,
}

impl Component for Push {
    const KIND: &'static str = "pinned.Push";
    type Inputs = PushInputs;
    type Outputs = ();
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

/// Says that the run ended.
#[derive(Serialize, Deserialize)]
struct Notify {
    channel: String,
}

impl Component for Notify {
    const KIND: &'static str = "pinned.Notify";
    type Inputs = ();
    type Outputs = ();
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

fn representative_pipeline() -> Pipeline {
    let mut builder = Pipeline::builder("pinned");
    builder
        .description("Trains and pushes a \"taxi\" model\nevery night — with ünïcödé")
        .root("s3://bucket/pipelines/pinned")
        .tag("nightly")
        .tag("team:ml")
        .schedule(
            Schedule::cron("0 3 * * *")
                .timezone("Europe/Paris")
                .start_date("2026-01-01")
                .catchup(false)
                .max_active_runs(2),
        )
        .trigger_on_new_data("ingest", 300);
    let seed = builder.param("seed", 42_i64);
    let rate = builder.param("sample_rate", 0.25_f64);
    let destination = builder.param("destination", "gs://models/taxi".to_owned());
    let deploy = builder.param("deploy", true);
    let layers = builder.param("layers", vec![64_i64, 32]);
    let mut extra = serde_json::Map::new();
    extra.insert("dropout".to_owned(), serde_json::json!(0.1));
    let extras = builder.param("extras", extra);
    let epochs = builder.required_param::<i64>("epochs");
    builder.describe_param(&epochs, "Passes over the training data");
    builder.describe_param(&seed, "Shuffles the \"rows\"");
    let _ = (layers, extras);

    let ingest = builder.add(
        "ingest",
        Ingest {
            pattern: "data/span-{SPAN}/*.csv".to_owned(),
            seed: (&seed).into(),
            splits: BTreeMap::from([("eval".to_owned(), 0.2), ("train".to_owned(), 0.8)]),
            note: Some("tab\there, quote \" and backslash \\ and \u{1} control".to_owned()),
        },
    );
    let statistics = builder.add(
        "statistics",
        Node::new(
            Statistics {
                top_k: 20.into(),
                sample_rate: (&rate).into(),
                features: vec!["fare".to_owned(), "trip_miles".to_owned()],
            },
            ExamplesInput {
                examples: ingest.examples,
            },
        )
        .shards(4)
        .cpu("500m")
        .memory("2Gi"),
    );
    let previous_statistics = builder.resolve(
        "previous_statistics",
        LatestArtifact::of(statistics.statistics),
    );
    let schema = builder.import(
        "schema",
        Importer::<Examples>::new("data/curated/rows.csv")
            .reimport(true)
            .property("span", 7)
            .custom_property("curated_by", "ops"),
    );
    let recent = builder.resolve(
        "recent_spans",
        SpanRange::of(ingest.examples).between(1, 9).latest(3),
    );
    let champion = builder.resolve("champion", ModelAlias::of("taxi", "champion"));
    let train = builder.add(
        "train",
        Node::new(
            Train {
                epochs: (&epochs).into(),
                learning_rate: 1e-3,
                layers: vec![64, 32, 1],
                options: serde_json::json!({"z": null, "a": [true, 1.5, -2, "x"], "m": {"k": {}}}),
            },
            TrainInputs {
                examples: ingest.examples,
                baseline: Some(champion.model),
            },
        )
        .retry_policy(RetryPolicy::retries(3).backoff(
            std::time::Duration::from_secs(2),
            1.5,
            std::time::Duration::from_secs(60),
        ))
        .timeout(std::time::Duration::from_secs(3600))
        .gpu(1)
        .image("registry.example/trainer:1.4")
        .pool("gpu-pool"),
    );
    let blessed = builder.resolve("blessed_baseline", LatestBlessedModel::of(train.model));
    let evaluate = builder.add(
        "evaluate",
        Node::new(
            Evaluate {
                threshold: 0.75.into(),
            },
            EvaluateInputs {
                model: train.model,
                baseline: Some(blessed.model),
            },
        )
        .cache(false),
    );
    builder.add(
        "push",
        Node::new(
            Push {
                destination: (&destination).into(),
            },
            PushInputs { model: train.model },
        )
        .when(evaluate.blessing.is_blessed().and(deploy.equals(true)))
        .when(evaluate.blessing.custom_property("score").gt(0.5).not())
        .trigger_rule(TriggerRule::AllDone),
    );
    builder.exit_handler(
        "notify",
        Notify {
            channel: "#ml-ops".to_owned(),
        },
    );
    let _ = (previous_statistics, schema, recent);
    builder
        .build()
        .expect("the representative pipeline is valid")
}

/// The canonical JSON of [`representative_pipeline`], as the IR was before issue 17's item 3.
const PINNED_CANONICAL_JSON: &str = include_str!("corpus/ir/representative.json");

/// Its fingerprint.
const PINNED_FINGERPRINT: &str = "0d3b9b9d845b98f78ac498940e871bb824b2d9b88bfb1d26abf2451399e0c57d";

#[test]
fn the_canonical_json_of_a_representative_pipeline_is_what_it_was() {
    let pipeline = representative_pipeline();
    assert_eq!(pipeline.spec().canonical_json(), PINNED_CANONICAL_JSON);
}

#[test]
fn the_fingerprint_of_a_representative_pipeline_is_what_it_was() {
    let pipeline = representative_pipeline();
    assert_eq!(pipeline.fingerprint().to_hex(), PINNED_FINGERPRINT);
    assert_eq!(pipeline.spec().fingerprint().to_hex(), PINNED_FINGERPRINT);
}

#[test]
fn the_indented_json_is_serde_jsons_pretty_form_of_the_spec() {
    let pipeline = representative_pipeline();
    let pretty = serde_json::to_string_pretty(pipeline.spec()).unwrap();
    assert_eq!(pipeline.to_json(), pretty);
    assert_eq!(pipeline.spec().to_json(), pretty);
}

#[test]
fn the_pinned_json_reads_back_into_the_same_spec_and_fingerprint() {
    let pipeline = representative_pipeline();
    let read = Pipeline::from_spec_with_registry(
        PipelineSpec::from_json(PINNED_CANONICAL_JSON).unwrap(),
        pipeline.registry(),
    )
    .unwrap();
    assert_eq!(read.spec(), pipeline.spec());
    assert_eq!(read.fingerprint().to_hex(), PINNED_FINGERPRINT);
    assert_eq!(read.spec().canonical_json(), PINNED_CANONICAL_JSON);
}

/// The BLAKE3 hash of its indented JSON (what `compile --target ir` writes).
const PINNED_INDENTED_JSON_HASH: &str =
    "2415ed3dcd7cf85dec9ddc43877691ccf35af1ce35662920b89234c234e2e8bb";

#[test]
fn the_indented_json_of_a_representative_pipeline_is_what_it_was() {
    let pipeline = representative_pipeline();
    let indented = pipeline.to_json();
    assert_eq!(
        Fingerprint::of_bytes(indented.as_bytes()).to_hex(),
        PINNED_INDENTED_JSON_HASH
    );
    assert_eq!(pipeline.spec().to_json(), indented);
}

single_output!(DatasetOutput, out, Dataset);

/// The first node of a generated pipeline.
#[derive(Serialize, Deserialize)]
struct Source {
    seed: Param<i64>,
}

impl Component for Source {
    const KIND: &'static str = "pinned.Source";
    type Inputs = ();
    type Outputs = DatasetOutput;
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

/// The inputs of [`Step`].
struct StepInputs {
    left: Channel<Dataset>,
    right: Option<Channel<Dataset>>,
}

impl InputSet for StepInputs {
    fn declarations() -> Vec<InputDeclaration> {
        vec![
            InputDeclaration::required::<Dataset>("left"),
            InputDeclaration::optional::<Dataset>("right"),
        ]
    }
    fn bindings(&self) -> Vec<(&'static str, Option<ErasedChannel>)> {
        vec![
            ("left", Some(self.left.erase())),
            ("right", self.right.as_ref().map(Channel::erase)),
        ]
    }
}

/// Every other node of a generated pipeline.
#[derive(Serialize, Deserialize)]
struct Step {
    factor: Param<f64>,
}

impl Component for Step {
    const KIND: &'static str = "pinned.Step";
    type Inputs = StepInputs;
    type Outputs = DatasetOutput;
    fn execution(&self) -> Executor<'_> {
        Executor::InProcess(&Idle)
    }
}

/// The shape of `benches/build_pipeline.rs`: each node reads one or two random earlier nodes,
/// every configuration refers to a runtime parameter, one in seven is a literal.
fn random_dag(nodes: usize) -> Pipeline {
    let mut builder = Pipeline::builder("random_dag");
    let factor = builder.param("factor", 1.5_f64);
    let mut outputs = vec![builder.add("n0", Source { seed: 7.into() }).out];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_random = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for index in 1..nodes {
        let inputs = StepInputs {
            left: outputs[next_random(index)],
            right: (index % 3 != 0).then(|| outputs[next_random(index)]),
        };
        let factor = if index % 7 == 0 {
            Param::Value(index as f64 / 8.0)
        } else {
            (&factor).into()
        };
        let node = builder.add(&format!("n{index}"), Node::new(Step { factor }, inputs));
        outputs.push(node.out);
    }
    builder.build().expect("the generated pipeline is valid")
}

/// The fingerprint of a generated pipeline of 500 nodes.
const PINNED_RANDOM_DAG_FINGERPRINT: &str =
    "0f73fd1bca50f918b18e2bda00454054548402cecf51fb620910836c43be8c95";

/// The BLAKE3 hash of its indented JSON.
const PINNED_RANDOM_DAG_INDENTED_HASH: &str =
    "1ab87e9fa3122f5c672887582b93149118298bf8105e397c7d888da9bbf3c7a1";

#[test]
fn the_fingerprint_and_json_of_a_generated_pipeline_are_what_they_were() {
    let pipeline = random_dag(500);
    let indented = pipeline.to_json();
    assert_eq!(
        (
            pipeline.fingerprint().to_hex(),
            Fingerprint::of_bytes(indented.as_bytes()).to_hex()
        ),
        (
            PINNED_RANDOM_DAG_FINGERPRINT.to_owned(),
            PINNED_RANDOM_DAG_INDENTED_HASH.to_owned()
        )
    );
    assert_eq!(pipeline.spec().fingerprint(), pipeline.fingerprint());
    assert_eq!(
        indented,
        serde_json::to_string_pretty(pipeline.spec()).unwrap()
    );
    assert_eq!(
        pipeline.spec().canonical_json(),
        serde_json::to_string(pipeline.spec()).unwrap()
    );
}
