//! Hello, Millrace: the smallest pipeline with both kinds of component.
//!
//! - `greet`, a function component: an `async fn` whose arguments are its output and its
//!   parameter, turned into a component by `#[millrace::component]`;
//! - `count_words`, a command component: `wc` run as a subprocess (or a container), with
//!   placeholders for its input and output URIs;
//! - `shout`, which runs only when the `loud` runtime parameter is true.
//!
//! ```text
//! cargo run --example hello -- graph --format mermaid
//! cargo run --example hello -- compile --target ir
//! ```

use millrace::prelude::*;
use serde::{Deserialize, Serialize};

/// Writes a greeting for `name` into `greeting.txt`.
#[millrace::component]
async fn greet(greeting: Output<Dataset>, name: String) -> Result<(), ComponentError> {
    let text = format!("Hello, {name}!\n");
    std::fs::write(greeting.uri().join("greeting.txt"), &text)?;
    greeting.set_custom_property("characters", text.chars().count() as i64);
    Ok(())
}

/// Upper-cases a greeting.
#[millrace::component]
async fn shout(greeting: Input<Dataset>, shouted: Output<Dataset>) -> Result<(), ComponentError> {
    let text = std::fs::read_to_string(greeting.uri().join("greeting.txt"))?;
    std::fs::write(shouted.uri().join("greeting.txt"), text.to_uppercase())?;
    Ok(())
}

/// Counts the words of a greeting with `wc`, as a command.
#[derive(Debug, Serialize, Deserialize)]
pub struct CountWords;

/// The input of [`CountWords`].
#[derive(millrace::Inputs)]
pub struct CountWordsInputs {
    /// The greeting to count.
    pub text: Channel<Dataset>,
}

/// The output of [`CountWords`].
#[derive(millrace::Outputs)]
pub struct CountWordsOutputs {
    /// `words.txt`, holding the count.
    pub counts: Channel<Metrics>,
}

impl Component for CountWords {
    const KIND: &'static str = "hello.CountWords";
    type Inputs = CountWordsInputs;
    type Outputs = CountWordsOutputs;

    fn execution(&self) -> Executor<'_> {
        Executor::Command(
            CommandSpec::new(["sh", "-c", r#"wc -w < "$1/greeting.txt" > "$2/words.txt""#])
                .image("debian:bookworm-slim")
                .args([
                    "count_words",
                    "{{inputs.text.uri}}",
                    "{{outputs.counts.uri}}",
                ]),
        )
    }
}

millrace::register_component!(CountWords);

fn pipeline() -> Result<Pipeline, BuildError> {
    let mut p = Pipeline::builder("hello");
    p.description("Greets someone, optionally loudly, and counts the words.");
    let name = p.param("name", "world".to_string());
    let loud = p.param("loud", false);

    let greeting = p.add("greet", Greet::new(&name));
    p.add(
        "count_words",
        CountWords.with_inputs(CountWordsInputs {
            text: greeting.greeting,
        }),
    );
    p.add(
        "shout",
        Shout::new(greeting.greeting).when(loud.equals(true)),
    );
    p.build()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    millrace::cli::main(pipeline).await
}
