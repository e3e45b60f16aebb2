//! Conditions in the IR: the `when` expressions that decide whether a node runs, and their one
//! evaluation, shared by every runner.
//!
//! A condition compares operands — a property of an upstream artifact, a runtime parameter or
//! a literal — and combines comparisons with `and`, `or` and `not`. A node whose condition is
//! false is recorded as skipped. Every runner evaluates conditions with [`ConditionSpec::evaluate`],
//! so the semantics are the same everywhere.
//!
//! ```
//! use millrace_core::spec::condition::{Comparison, ConditionExpr, ConditionSpec, Operand};
//! use serde_json::json;
//!
//! let deploy_eu: ConditionSpec = ConditionExpr::Compare {
//!     left: Operand::Parameter { name: "region".into() },
//!     comparison: Comparison::Eq,
//!     right: Operand::Literal { value: json!("eu") },
//! };
//! let verdict = deploy_eu.evaluate(&mut |operand| match operand {
//!     Operand::Parameter { .. } => Some(json!("eu")),
//!     _ => None,
//! });
//! assert_eq!(verdict, Ok(true));
//! ```

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::node::ChannelRef;

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
