//! `when(...)` conditions in the typed API: made from channels and runtime parameters, written
//! into the IR as [`ConditionSpec`]s.
//!
//! ```
//! use millrace_core::Pipeline;
//!
//! let mut builder = Pipeline::builder("demo");
//! let deploy = builder.param("deploy", true);
//! let condition = deploy.equals(true).and(deploy.equals(false).not());
//! # let _ = condition;
//! ```

use serde_json::Value;

use crate::channel::ChannelSource;
use crate::parameter::RuntimeParameter;
pub use crate::spec::condition::{Comparison, ConditionExpr, ConditionSpec, Operand};

/// A condition in the typed API, made from channels and runtime parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(pub(crate) ConditionExpr<ChannelSource>);

impl Condition {
    /// True when both are.
    pub fn and(self, other: Condition) -> Condition {
        Condition(ConditionExpr::All {
            conditions: vec![self.0, other.0],
        })
    }

    /// True when either is.
    pub fn or(self, other: Condition) -> Condition {
        Condition(ConditionExpr::Any {
            conditions: vec![self.0, other.0],
        })
    }

    /// True when this is false.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Condition {
        Condition(ConditionExpr::Not {
            condition: Box::new(self.0),
        })
    }
}

/// Conversion of constants and runtime parameters into the right-hand side of a comparison.
pub trait IntoOperand {
    /// The operand.
    fn into_operand(self) -> Operand<ChannelSource>;
}

macro_rules! literal_operand {
    ($($t:ty),*) => {$(
        impl IntoOperand for $t {
            fn into_operand(self) -> Operand<ChannelSource> {
                Operand::Literal { value: Value::from(self) }
            }
        }
    )*};
}
literal_operand!(i64, i32, f64, bool, &str, String);

impl<T> IntoOperand for &RuntimeParameter<T> {
    fn into_operand(self) -> Operand<ChannelSource> {
        Operand::Parameter {
            name: self.name().to_owned(),
        }
    }
}

impl IntoOperand for Operand<ChannelSource> {
    fn into_operand(self) -> Operand<ChannelSource> {
        self
    }
}

macro_rules! comparisons {
    ($($method:ident => $comparison:ident, $doc:literal;)*) => {
        impl Operand<ChannelSource> {
            $(
                #[doc = $doc]
                pub fn $method(self, right: impl IntoOperand) -> Condition {
                    Condition(ConditionExpr::Compare {
                        left: self,
                        comparison: Comparison::$comparison,
                        right: right.into_operand(),
                    })
                }
            )*
        }

        impl<T> RuntimeParameter<T> {
            $(
                #[doc = $doc]
                pub fn $method(&self, right: impl IntoOperand) -> Condition {
                    self.into_operand().$method(right)
                }
            )*
        }
    };
}

comparisons! {
    eq => Eq, "True when the two sides are equal.";
    ne => Ne, "True when the two sides differ.";
    lt => Lt, "True when the left side is less than the right.";
    le => Le, "True when the left side is at most the right.";
    gt => Gt, "True when the left side is greater than the right.";
    ge => Ge, "True when the left side is at least the right.";
}

impl<T> RuntimeParameter<T> {
    /// True when the parameter equals `value` (an alias of `eq` that reads well on booleans).
    pub fn equals(&self, value: impl IntoOperand) -> Condition {
        self.eq(value)
    }
}
