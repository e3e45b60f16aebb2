//! Compile-time assertions: the types a runner moves across threads are `Send + Sync`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use millrace::prelude::*;
use millrace::spec::{InputSpec, NodeSpec, OutputSpec, ParameterSpec, ScheduleSpec, TaskSpec};

const fn assert_send_sync<T: Send + Sync>() {}

// Evaluated at compile time: this file does not compile if any of these is not Send + Sync.
const _: () = {
    assert_send_sync::<Pipeline>();
    assert_send_sync::<Channel<Examples>>();
    assert_send_sync::<Channel<Model>>();
    assert_send_sync::<PipelineSpec>();
    assert_send_sync::<NodeSpec>();
    assert_send_sync::<TaskSpec>();
    assert_send_sync::<InputSpec>();
    assert_send_sync::<OutputSpec>();
    assert_send_sync::<ParameterSpec>();
    assert_send_sync::<ScheduleSpec>();
    assert_send_sync::<millrace::ConditionSpec>();
    assert_send_sync::<millrace::Registry>();
    assert_send_sync::<millrace::Fingerprint>();
    assert_send_sync::<millrace::Error>();
    assert_send_sync::<PipelineBuilder>();
    assert_send_sync::<ExecutionContext>();
    assert_send_sync::<Input<Examples>>();
    assert_send_sync::<Output<Model>>();
    assert_send_sync::<Box<dyn millrace::ErasedComponent>>();
    assert_send_sync::<RuntimeParameter<f64>>();
    assert_send_sync::<Param<String>>();
};

/// `Channel<T>` is a plain handle: copying it must stay free whatever `T` is.
#[test]
fn channels_are_small_copyable_handles() {
    fn assert_copy<T: Copy>() {}
    assert_copy::<Channel<Examples>>();
    assert!(std::mem::size_of::<Channel<Examples>>() <= 40);
}
