use millrace::prelude::*;

/// Computes statistics of examples.
#[millrace::component]
async fn statistics_gen(
    examples: Input<Examples>,
    statistics: Output<ExampleStatistics>,
) -> Result<(), ComponentError> {
    let _ = (examples, statistics);
    Ok(())
}

/// Trains a model.
#[millrace::component]
async fn trainer(model: Output<Model>) -> Result<(), ComponentError> {
    let _ = model;
    Ok(())
}

fn main() {
    let mut p = Pipeline::builder("wrong");
    let train = p.add("trainer", Trainer::new());
    p.add("statistics_gen", StatisticsGen::new(train.model));
}
