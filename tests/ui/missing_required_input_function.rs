use millrace::prelude::*;

/// Trains a model from examples and a schema.
#[millrace::component]
async fn trainer(
    examples: Input<Examples>,
    schema: Input<Schema>,
    model: Output<Model>,
) -> Result<(), ComponentError> {
    let _ = (examples, schema, model);
    Ok(())
}

fn wire(p: &mut PipelineBuilder, examples: Channel<Examples>) {
    p.add("trainer", Trainer::new(examples));
}

fn main() {}
