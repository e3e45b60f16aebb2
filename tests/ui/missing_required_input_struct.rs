use millrace::prelude::*;

#[derive(millrace::Inputs)]
struct TrainerInputs {
    examples: Channel<Examples>,
    schema: Channel<Schema>,
}

fn wire(examples: Channel<Examples>) -> TrainerInputs {
    TrainerInputs { examples }
}

fn main() {}
