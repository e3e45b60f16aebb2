//! The pipeline every exporter is tested against: strings that try to break generated files,
//! a node that fails on demand, a flaky node that needs its retry, a skipped node, two node ids
//! that engines' naming rules make equal, and an exit handler.
//!
//! ```text
//! cargo run --example conformance -- run                          # locally
//! cargo run --example conformance -- run --param fail=true        # `fragile` fails, `after_fragile` does not run
//! cargo run --example conformance -- compile --target airflow --out dags/
//! CONFORMANCE_IMAGE=registry/conformance:1 cargo run --example conformance -- compile --target airflow
//! cargo run --example conformance -- compile --target kfp --image registry/conformance:1
//! cargo run --example conformance -- compile --target argo --image registry/conformance:1
//! ```
//!
//! Its description, tags and the default of `message` hold quotes, newlines, Jinja `{{ }}`,
//! Python `'''`, backslashes and non-ASCII text; `echo` writes the message it receives into
//! `message.txt`, so a test can check that it arrived byte for byte.

use std::path::Path;

use millrace::prelude::*;

/// Text that is hard to embed in Python, YAML, Jinja, shells and JSON.
const HOSTILE: &str = "It's \"quoted\"\nnew line\t{{ run_id }} {% if %} ''' \"\"\" \\ $HOME `date` ; rm -rf / café → 😀";

/// Writes the message it receives into `message.txt`.
#[millrace::component(kind = "conformance.echo")]
async fn echo(out: Output<Dataset>, message: String) -> Result<(), ComponentError> {
    std::fs::write(out.uri().join("message.txt"), &message)?;
    out.set_custom_property("characters", message.chars().count() as i64);
    Ok(())
}

/// Fails while fewer than `succeed_on_attempt` attempts were made, counting them in a file of
/// `attempts_dir` (no counting, and success, when it is empty).
#[millrace::component(kind = "conformance.flaky")]
async fn flaky(
    input: Input<Dataset>,
    out: Output<Dataset>,
    attempts_dir: String,
    succeed_on_attempt: i64,
) -> Result<(), ComponentError> {
    if !attempts_dir.is_empty() {
        let counter = Path::new(&attempts_dir).join("flaky_attempts");
        let attempts = std::fs::read_to_string(&counter)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        std::fs::create_dir_all(&attempts_dir)?;
        std::fs::write(&counter, attempts.to_string())?;
        if attempts < succeed_on_attempt {
            return Err(ComponentError::new(format!(
                "attempt {attempts} fails on purpose; attempt {succeed_on_attempt} will succeed"
            )));
        }
    }
    std::fs::copy(
        input.uri().join("message.txt"),
        out.uri().join("message.txt"),
    )?;
    Ok(())
}

/// Fails when `fail` is true.
#[millrace::component(kind = "conformance.fragile")]
async fn fragile(
    input: Input<Dataset>,
    out: Output<Dataset>,
    fail: bool,
) -> Result<(), ComponentError> {
    if fail {
        return Err(ComponentError::new("failing on purpose (fail=true)"));
    }
    std::fs::copy(
        input.uri().join("message.txt"),
        out.uri().join("message.txt"),
    )?;
    Ok(())
}

/// Counts the characters of a message.
#[millrace::component(kind = "conformance.count")]
async fn count(input: Input<Dataset>, out: Output<Metrics>) -> Result<(), ComponentError> {
    let text = std::fs::read_to_string(input.uri().join("message.txt"))?;
    std::fs::write(
        out.uri().join("count.txt"),
        text.chars().count().to_string(),
    )?;
    Ok(())
}

/// Records that the pipeline ended, whatever happened.
#[millrace::component(kind = "conformance.cleanup")]
async fn cleanup(out: Output<Dataset>) -> Result<(), ComponentError> {
    std::fs::write(out.uri().join("cleaned.txt"), "done")?;
    Ok(())
}

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("conformance");
    p.description(format!("Exporter conformance.\n{HOSTILE}"));
    p.tag("conformance").tag(HOSTILE);
    p.schedule(Schedule {
        cron: "30 3 * * 1-5".to_owned(),
        start_date: Some("2026-06-01".to_owned()),
        catchup: false,
        max_active_runs: Some(1),
        timezone: None,
    });
    let message = p.param("message", HOSTILE.to_owned());
    p.describe_param(&message, HOSTILE);
    let fail = p.param("fail", false);
    let attempts_dir = p.param("attempts_dir", String::new());
    let skip_count = p.param("skip_count", true);

    // With CONFORMANCE_IMAGE set, `echo` runs in that image on container runners (Airflow's
    // KubernetesPodOperator): what the exporters' tests load without a cluster.
    let echo = Echo::new(&message);
    let echoed = match std::env::var("CONFORMANCE_IMAGE") {
        Ok(image) if !image.is_empty() => {
            p.add("echo", echo.image(image).cpu("500m").memory("256Mi"))
        }
        _ => p.add("echo", echo),
    };
    let steady = p.add(
        "flaky",
        Flaky::new(echoed.out, &attempts_dir, 2).retry_policy(RetryPolicy::retries(2).backoff(
            std::time::Duration::from_secs(1),
            2.0,
            std::time::Duration::from_secs(4),
        )),
    );
    let survived = p.add("fragile", Fragile::new(steady.out, &fail));
    p.add(
        "after_fragile",
        Count::new(survived.out).pool("default_pool"),
    );
    p.add(
        "skipped_count",
        Count::new(echoed.out).when(skip_count.equals(false)),
    );
    // Two ids the IR allows that every engine must rename to the same name (`count-echo-1`),
    // one of them with a trigger rule: the exporters keep them apart and say which is which.
    p.add(
        "Count-Echo_1",
        Count::new(echoed.out).trigger_rule(TriggerRule::AllDone),
    );
    p.add("count_echo-1", Count::new(echoed.out));
    p.exit_handler("cleanup", Cleanup::new());
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    millrace::cli::main(pipeline).await
}
