//! `when(...)` conditions: run a node only if upstream properties or parameters say so.
//!
//! A condition compares operands — a property of an upstream artifact, a runtime parameter or
//! a literal — and combines comparisons with `and`, `or` and `not`. A node whose condition is
//! false is recorded as skipped. Every runner evaluates conditions with [`ConditionSpec::evaluate`],
//! so the semantics are the same everywhere.
//!
//! ```
//! use millrace_core::Pipeline;
//!
//! let mut builder = Pipeline::builder("demo");
//! let deploy = builder.param("deploy", true);
//! let condition = deploy.equals(true).and(deploy.equals(false).not());
//! # let _ = condition;
//! ```

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::ChannelSource;
use crate::parameter::RuntimeParameter;
use crate::spec::ChannelRef;

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operand", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operand<C> {
    /// A property of the artifact on an upstream channel.
    ArtifactProperty {
        /// The channel.
        channel: C,
        /// The property's name.
        property: String,
        /// Whether it is a custom property rather than a declared one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        custom: bool,
    },
    /// The value of a runtime parameter.
    Parameter {
        /// The parameter's name.
        name: String,
    },
    /// A constant.
    Literal {
        /// The constant.
        value: Value,
    },
}

/// How two operands are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparison::Eq => "==",
            Comparison::Ne => "!=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        })
    }
}

/// A boolean expression over operands, generic over how channels are referenced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConditionExpr<C> {
    /// `left comparison right`.
    Compare {
        /// The left operand.
        left: Operand<C>,
        /// The comparison.
        comparison: Comparison,
        /// The right operand.
        right: Operand<C>,
    },
    /// True when all are true.
    All {
        /// The conditions.
        conditions: Vec<ConditionExpr<C>>,
    },
    /// True when any is true.
    Any {
        /// The conditions.
        conditions: Vec<ConditionExpr<C>>,
    },
    /// True when the inner condition is false.
    Not {
        /// The negated condition.
        condition: Box<ConditionExpr<C>>,
    },
}

/// A condition in the IR: channels are referenced by node id and output name.
pub type ConditionSpec = ConditionExpr<ChannelRef>;

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

impl<C> ConditionExpr<C> {
    /// The same condition with its channels referenced another way.
    pub fn map_channels<D>(&self, map: &mut impl FnMut(&C) -> D) -> ConditionExpr<D> {
        match self {
            ConditionExpr::Compare {
                left,
                comparison,
                right,
            } => ConditionExpr::Compare {
                left: left.map_channel(map),
                comparison: *comparison,
                right: right.map_channel(map),
            },
            ConditionExpr::All { conditions } => ConditionExpr::All {
                conditions: conditions.iter().map(|c| c.map_channels(map)).collect(),
            },
            ConditionExpr::Any { conditions } => ConditionExpr::Any {
                conditions: conditions.iter().map(|c| c.map_channels(map)).collect(),
            },
            ConditionExpr::Not { condition } => ConditionExpr::Not {
                condition: Box::new(condition.map_channels(map)),
            },
        }
    }

    /// Every operand, depth first.
    pub fn operands(&self) -> Vec<&Operand<C>> {
        let mut operands = Vec::new();
        self.collect_operands(&mut operands);
        operands
    }

    fn collect_operands<'a>(&'a self, operands: &mut Vec<&'a Operand<C>>) {
        match self {
            ConditionExpr::Compare { left, right, .. } => {
                operands.push(left);
                operands.push(right);
            }
            ConditionExpr::All { conditions } | ConditionExpr::Any { conditions } => {
                for condition in conditions {
                    condition.collect_operands(operands);
                }
            }
            ConditionExpr::Not { condition } => condition.collect_operands(operands),
        }
    }

    /// Evaluates the condition; `value_of` supplies property and parameter values.
    ///
    /// Numbers compare numerically, strings lexicographically; booleans and other JSON values
    /// support only `==` and `!=`. A missing value or a comparison of different kinds is an
    /// error, so that a typo never silently skips a node.
    pub fn evaluate(
        &self,
        value_of: &mut impl FnMut(&Operand<C>) -> Option<Value>,
    ) -> Result<bool, String> {
        match self {
            ConditionExpr::Compare {
                left,
                comparison,
                right,
            } => {
                let left_value = resolve_operand(left, value_of)?;
                let right_value = resolve_operand(right, value_of)?;
                compare(&left_value, *comparison, &right_value)
            }
            ConditionExpr::All { conditions } => {
                for condition in conditions {
                    if !condition.evaluate(value_of)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ConditionExpr::Any { conditions } => {
                for condition in conditions {
                    if condition.evaluate(value_of)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ConditionExpr::Not { condition } => Ok(!condition.evaluate(value_of)?),
        }
    }
}

impl<C> Operand<C> {
    fn map_channel<D>(&self, map: &mut impl FnMut(&C) -> D) -> Operand<D> {
        match self {
            Operand::ArtifactProperty {
                channel,
                property,
                custom,
            } => Operand::ArtifactProperty {
                channel: map(channel),
                property: property.clone(),
                custom: *custom,
            },
            Operand::Parameter { name } => Operand::Parameter { name: name.clone() },
            Operand::Literal { value } => Operand::Literal {
                value: value.clone(),
            },
        }
    }
}

fn resolve_operand<C>(
    operand: &Operand<C>,
    value_of: &mut impl FnMut(&Operand<C>) -> Option<Value>,
) -> Result<Value, String> {
    match operand {
        Operand::Literal { value } => Ok(value.clone()),
        Operand::Parameter { name } => {
            value_of(operand).ok_or_else(|| format!("runtime parameter `{name}` has no value"))
        }
        Operand::ArtifactProperty { property, .. } => {
            value_of(operand).ok_or_else(|| format!("the artifact has no property `{property}`"))
        }
    }
}

fn compare(left: &Value, comparison: Comparison, right: &Value) -> Result<bool, String> {
    let ordering = match (left, right) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a.partial_cmp(&b)
        }
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => {
            return match comparison {
                Comparison::Eq => Ok(a == b),
                Comparison::Ne => Ok(a != b),
                _ => Err(format!("cannot order {a} and {b} with {comparison}")),
            };
        }
        (a, b) => {
            return Err(format!(
                "cannot compare {a} with {b}: different kinds of value"
            ));
        }
    };
    Ok(match (comparison, ordering) {
        (Comparison::Eq, ordering) => ordering == Some(Ordering::Equal),
        (Comparison::Ne, ordering) => ordering != Some(Ordering::Equal),
        (_, None) => false,
        (Comparison::Lt, Some(ordering)) => ordering.is_lt(),
        (Comparison::Le, Some(ordering)) => ordering.is_le(),
        (Comparison::Gt, Some(ordering)) => ordering.is_gt(),
        (Comparison::Ge, Some(ordering)) => ordering.is_ge(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn literal(value: Value) -> Operand<ChannelRef> {
        Operand::Literal { value }
    }

    fn comparison(left: Value, comparison: Comparison, right: Value) -> ConditionSpec {
        ConditionExpr::Compare {
            left: literal(left),
            comparison,
            right: literal(right),
        }
    }

    #[test]
    fn numbers_compare_numerically_and_mixed_kinds_are_errors() {
        let mut none = |_: &Operand<ChannelRef>| None;
        assert_eq!(
            comparison(json!(1), Comparison::Lt, json!(1.5)).evaluate(&mut none),
            Ok(true)
        );
        assert_eq!(
            comparison(json!(2), Comparison::Eq, json!(2.0)).evaluate(&mut none),
            Ok(true)
        );
        assert_eq!(
            comparison(json!("b"), Comparison::Gt, json!("a")).evaluate(&mut none),
            Ok(true)
        );
        assert!(
            comparison(json!(true), Comparison::Lt, json!(false))
                .evaluate(&mut none)
                .is_err()
        );
        assert!(
            comparison(json!(1), Comparison::Eq, json!("1"))
                .evaluate(&mut none)
                .is_err()
        );
    }

    #[test]
    fn missing_values_are_errors_and_combinators_short_circuit() {
        let missing = ConditionExpr::Compare {
            left: Operand::Parameter { name: "p".into() },
            comparison: Comparison::Eq,
            right: literal(json!(1)),
        };
        let mut none = |_: &Operand<ChannelRef>| None;
        assert!(missing.evaluate(&mut none).is_err());
        let any = ConditionExpr::Any {
            conditions: vec![comparison(json!(1), Comparison::Eq, json!(1)), missing],
        };
        assert_eq!(any.evaluate(&mut none), Ok(true));
        let not = ConditionExpr::Not {
            condition: Box::new(comparison(json!(1), Comparison::Eq, json!(1))),
        };
        assert_eq!(not.evaluate(&mut none), Ok(false));
    }
}
