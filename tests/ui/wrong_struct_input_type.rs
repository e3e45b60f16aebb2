use millrace::prelude::*;

#[derive(millrace::Inputs)]
struct EvaluatorInputs {
    examples: Channel<Examples>,
    model: Channel<Model>,
}

fn wire(model: Channel<Model>, examples: Channel<Examples>) -> EvaluatorInputs {
    EvaluatorInputs {
        examples: model,
        model: examples,
    }
}

fn main() {}
