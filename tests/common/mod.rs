//! Components and pipelines shared by the integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.
#![allow(dead_code)]

use std::time::Duration;

use millrace::prelude::*;
use serde::{Deserialize, Serialize};

/// Reads CSV files into examples.
#[millrace::component(kind = "test.ExampleGen")]
pub async fn example_gen(
    examples: Output<Examples>,
    pattern: String,
) -> Result<(), ComponentError> {
    std::fs::write(examples.uri().join("pattern.txt"), pattern)?;
    examples.set_property("span", 1)?;
    Ok(())
}

/// Computes statistics.
#[millrace::component(kind = "test.StatisticsGen")]
pub async fn statistics_gen(
    examples: Input<Examples>,
    statistics: Output<ExampleStatistics>,
) -> Result<(), ComponentError> {
    let _ = (examples, statistics);
    Ok(())
}

/// Infers a schema.
#[millrace::component(kind = "test.SchemaGen")]
pub async fn schema_gen(
    statistics: Input<ExampleStatistics>,
    schema: Output<Schema>,
) -> Result<(), ComponentError> {
    let _ = (statistics, schema);
    Ok(())
}

/// Trains a model.
#[millrace::component(kind = "test.Trainer")]
pub async fn trainer(
    examples: Input<Examples>,
    schema: Input<Schema>,
    hyperparameters: Option<Input<HyperParameters>>,
    model: Output<Model>,
    learning_rate: f64,
    epochs: i64,
) -> Result<(), ComponentError> {
    let _ = (
        examples,
        schema,
        hyperparameters,
        model,
        learning_rate,
        epochs,
    );
    Ok(())
}

/// Evaluates a model against a baseline.
#[millrace::component(kind = "test.Evaluator")]
pub async fn evaluator(
    examples: Input<Examples>,
    model: Input<Model>,
    baseline: Option<Input<Model>>,
    evaluation: Output<ModelEvaluation>,
    blessing: Output<ModelBlessing>,
    rmse_max: f64,
) -> Result<(), ComponentError> {
    let _ = (examples, model, baseline, evaluation, blessing, rmse_max);
    Ok(())
}

/// Pushes a model: a command component.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pusher {
    pub destination: String,
}

#[derive(millrace::Inputs)]
pub struct PusherInputs {
    pub model: Channel<Model>,
    pub blessing: Channel<ModelBlessing>,
}

#[derive(millrace::Outputs)]
pub struct PusherOutputs {
    pub pushed: Channel<PushedModel>,
}

impl Component for Pusher {
    const KIND: &'static str = "test.Pusher";
    type Inputs = PusherInputs;
    type Outputs = PusherOutputs;
    fn execution(&self) -> Executor<'_> {
        Executor::Command(
            CommandSpec::new(["cp", "-r", "{{inputs.model.uri}}"])
                .args([self.destination.as_str(), "{{outputs.pushed.uri}}"])
                .env("RUN_ID", "{{run_id}}"),
        )
    }
}

millrace::register_component!(Pusher);

/// Sends a notification; used as the exit handler.
#[millrace::component(kind = "test.Notify")]
pub async fn notify(channel: String) -> Result<(), ComponentError> {
    let _ = channel;
    Ok(())
}

/// A pipeline that uses every feature of the IR: parameters of several types, function,
/// struct and command components, an optional input, a resolver, an importer, node options,
/// a `when` condition, an exit handler and a schedule.
pub fn full_pipeline(learning_rate: f64) -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("chicago-taxi");
    p.description("Fare regression on the Chicago taxi data.\nSecond line: \"quoted\".")
        .tag("taxi")
        .schedule(
            Schedule::cron("0 3 * * *")
                .start_date("2026-01-01")
                .max_active_runs(1),
        );
    let rate = p.param("learning_rate", learning_rate);
    let epochs = p.param("epochs", 3_i64);
    let rmse_max = p.param("rmse_max", 10.0_f64);
    let destination = p.required_param::<String>("destination");
    let _ = destination;

    let ingest = p.add("example_gen", ExampleGen::new("data/taxi/*.csv"));
    let stats = p.add("statistics_gen", StatisticsGen::new(ingest.examples));
    let curated = p.import(
        "curated_schema",
        Importer::<Schema>::new("schemas/taxi.json").custom_property("owner", "data-team"),
    );
    let _ = curated;
    let schema = p.add("schema_gen", SchemaGen::new(stats.statistics));
    let train = p.add(
        "trainer",
        Trainer::new(ingest.examples, schema.schema, None, &rate, &epochs)
            .retries(2)
            .timeout(Duration::from_secs(600))
            .cpu("2")
            .memory("4Gi"),
    );
    let base = p.resolve("latest_blessed", LatestBlessedModel::of(train.model));
    let eval = p.add(
        "evaluator",
        Evaluator::new(ingest.examples, train.model, Some(base.model), &rmse_max),
    );
    p.add(
        "pusher",
        Pusher {
            destination: "serving/taxi".into(),
        }
        .with_inputs(PusherInputs {
            model: train.model,
            blessing: eval.blessing,
        })
        .image("debian:bookworm-slim")
        .when(eval.blessing.is_blessed()),
    );
    p.exit_handler(
        "notify",
        Notify::new("#ml-alerts").trigger_rule(TriggerRule::AllDone),
    );
    p.build()
}

/// A source of data sets, for random DAGs.
#[millrace::component(kind = "test.Source")]
pub async fn source(out: Output<Dataset>) -> Result<(), ComponentError> {
    let _ = out;
    Ok(())
}

/// Combines one or two data sets, for random DAGs.
#[millrace::component(kind = "test.Combine")]
pub async fn combine(
    left: Input<Dataset>,
    right: Option<Input<Dataset>>,
    out: Output<Dataset>,
) -> Result<(), ComponentError> {
    let _ = (left, right, out);
    Ok(())
}

/// Echoes a text given in its configuration: its placeholders come from the config.
#[derive(Debug, Serialize, Deserialize)]
pub struct Echo {
    pub text: String,
}

impl Component for Echo {
    const KIND: &'static str = "test.Echo";
    type Inputs = ();
    type Outputs = ();
    fn execution(&self) -> Executor<'_> {
        Executor::Command(CommandSpec::new(["echo", self.text.as_str()]))
    }
}

millrace::register_component!(Echo);
