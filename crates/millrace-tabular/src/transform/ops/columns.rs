//! Arrow columns as the ops read and write them: where an op finds its inputs (a record batch,
//! or a batch and the outputs of the ops before it), and the typed views it computes on.

use arrow_array::types::{ArrowPrimitiveType, Float64Type};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, PrimitiveArray, RecordBatch, StringArray,
};
use arrow_schema::DataType;

use crate::FeatureType;
use crate::examples_format::column_names;

/// Where ops find their input columns: a record batch, or a batch plus the outputs of the ops
/// before.
pub(crate) trait Columns {
    /// The column called `name`.
    fn find_column(&self, name: &str) -> Option<&ArrayRef>;

    /// The names of the columns there are, for the message of a column that is not.
    fn column_names(&self) -> Vec<String>;
}

impl Columns for RecordBatch {
    fn find_column(&self, name: &str) -> Option<&ArrayRef> {
        self.column_by_name(name)
    }

    fn column_names(&self) -> Vec<String> {
        column_names(&self.schema())
    }
}

/// The feature type of an Arrow column type ops can read.
pub(crate) fn feature_type_of(data_type: &DataType) -> Option<FeatureType> {
    match data_type {
        DataType::Int64 => Some(FeatureType::Int),
        DataType::Float64 => Some(FeatureType::Float),
        DataType::Utf8 => Some(FeatureType::String),
        _ => None,
    }
}

/// An input column, typed.
#[derive(Clone, Copy)]
pub(super) enum Input<'a> {
    Int(&'a Int64Array),
    Float(&'a Float64Array),
    String(&'a StringArray),
}

impl Input<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            Input::Int(array) => array.len(),
            Input::Float(array) => array.len(),
            Input::String(array) => array.len(),
        }
    }
}

/// A numeric input column.
#[derive(Clone, Copy)]
pub(super) enum Numeric<'a> {
    Int(&'a Int64Array),
    Float(&'a Float64Array),
}

impl Numeric<'_> {
    /// `f` on every value as f64, nulls kept (`f` also sees the values under nulls, harmlessly).
    #[inline]
    pub(super) fn map(self, f: impl Fn(f64) -> f64) -> Float64Array {
        match self {
            Numeric::Int(array) => array.unary::<_, Float64Type>(|value| f(value as f64)),
            Numeric::Float(array) => array.unary::<_, Float64Type>(f),
        }
    }

    /// `f` on every present value as f64; `None` gives a null.
    #[inline]
    pub(super) fn map_opt<O: ArrowPrimitiveType>(
        self,
        f: impl Fn(f64) -> Option<O::Native>,
    ) -> PrimitiveArray<O> {
        match self {
            Numeric::Int(array) => array.unary_opt::<_, O>(|value| f(value as f64)),
            Numeric::Float(array) => array.unary_opt::<_, O>(f),
        }
    }
}

/// `array` with nulls replaced by `fill` (the array itself, shared, when it has none).
pub(super) fn fill_primitive<T: ArrowPrimitiveType>(
    array: &PrimitiveArray<T>,
    fill: T::Native,
) -> PrimitiveArray<T> {
    let Some(nulls) = array.nulls().filter(|nulls| nulls.null_count() > 0) else {
        return array.clone();
    };
    let values: Vec<T::Native> = array
        .values()
        .iter()
        .enumerate()
        .map(|(row, &value)| if nulls.is_valid(row) { value } else { fill })
        .collect();
    PrimitiveArray::new(values.into(), None)
}
