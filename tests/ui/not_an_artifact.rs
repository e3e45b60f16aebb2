use millrace::prelude::*;

#[derive(millrace::Inputs)]
struct Inputs {
    text: Channel<String>,
}

fn main() {}
