//! How ingested rows are divided into splits: by hash buckets, or by a column that names them.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::hash::{Fnv1a64, fnv1a_64};
use crate::{DataError, Result};

/// A split and its share of the hash buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitBuckets {
    /// The split's name.
    pub name: String,
    /// How many buckets it gets.
    pub buckets: u32,
}

/// How rows are divided into splits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitConfig {
    /// A row goes to the split owning bucket `hash % total buckets`. The hash is of the whole row,
    /// or of one column's value (so that, say, all rows of a customer land in one split).
    HashBuckets {
        /// The splits, in order, with their buckets (default train 2 : eval 1).
        splits: Vec<SplitBuckets>,
        /// The column whose value is hashed instead of the whole row.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition_column: Option<String>,
    },
    /// The data are split already: a column's value names each row's split. The column is not
    /// kept in the examples.
    Column {
        /// The column naming the split.
        column: String,
    },
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig::HashBuckets {
            splits: vec![
                SplitBuckets {
                    name: "train".to_owned(),
                    buckets: 2,
                },
                SplitBuckets {
                    name: "eval".to_owned(),
                    buckets: 1,
                },
            ],
            partition_column: None,
        }
    }
}

impl SplitConfig {
    /// Hash buckets with these splits and shares: `SplitConfig::buckets(&[("train", 4), ("eval", 1)])`.
    pub fn buckets(splits: &[(&str, u32)]) -> Self {
        SplitConfig::HashBuckets {
            splits: splits
                .iter()
                .map(|(name, buckets)| SplitBuckets {
                    name: (*name).to_owned(),
                    buckets: *buckets,
                })
                .collect(),
            partition_column: None,
        }
    }

    /// Checks the configuration against the columns.
    pub fn check(&self, columns: &[String]) -> Result<()> {
        let needs = match self {
            SplitConfig::HashBuckets {
                splits,
                partition_column,
            } => {
                if splits.is_empty() || splits.iter().all(|split| split.buckets == 0) {
                    return Err(invalid(
                        "splits",
                        "a hash-bucket split needs at least one split with buckets".to_owned(),
                    ));
                }
                let mut names: Vec<&str> = splits.iter().map(|s| s.name.as_str()).collect();
                names.sort_unstable();
                if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
                    return Err(invalid(
                        "splits",
                        format!("split `{}` is named twice", pair[0]),
                    ));
                }
                partition_column.as_ref()
            }
            SplitConfig::Column { column } => Some(column),
        };
        match needs {
            Some(column) if !columns.contains(column) => Err(DataError::MissingColumn {
                column: column.clone(),
                needed_by: SPLIT_CONFIGURATION.to_owned(),
                place: "the data".to_owned(),
                available: columns.to_vec(),
            }),
            _ => Ok(()),
        }
    }

    /// The splits known before reading (a column split learns them from the data).
    pub fn known_splits(&self) -> Vec<String> {
        match self {
            SplitConfig::HashBuckets { splits, .. } => {
                splits.iter().map(|split| split.name.clone()).collect()
            }
            SplitConfig::Column { .. } => Vec::new(),
        }
    }

    /// The column left out of the examples, if any.
    pub fn dropped_column(&self) -> Option<&str> {
        match self {
            SplitConfig::Column { column } => Some(column),
            SplitConfig::HashBuckets { .. } => None,
        }
    }

    /// Divides `batch` into its splits. `row_hashes` are the rows' fingerprints, used when the
    /// whole row is hashed.
    pub fn divide(
        &self,
        batch: &RecordBatch,
        row_hashes: &[u64],
    ) -> Result<Vec<(String, RecordBatch)>> {
        match self {
            SplitConfig::HashBuckets {
                splits,
                partition_column,
            } => {
                let hashes = match partition_column {
                    Some(column) => value_hashes(column_of(batch, column)?.as_ref()),
                    None => row_hashes.to_vec(),
                };
                let total: u64 = splits.iter().map(|split| u64::from(split.buckets)).sum();
                let mut owners = Vec::with_capacity(total as usize);
                for (index, split) in splits.iter().enumerate() {
                    owners.extend(std::iter::repeat_n(index, split.buckets as usize));
                }
                let assignment: Vec<usize> = hashes
                    .iter()
                    .map(|hash| owners[(hash % total) as usize])
                    .collect();
                let mut parts = Vec::with_capacity(splits.len());
                for (index, split) in splits.iter().enumerate() {
                    let mask: BooleanArray = assignment
                        .iter()
                        .map(|&owner| Some(owner == index))
                        .collect();
                    parts.push((split.name.clone(), filter(batch, &mask)?));
                }
                Ok(parts)
            }
            SplitConfig::Column { column } => {
                let values = column_of(batch, column)?;
                let names = value_texts(values.as_ref());
                let mut distinct: Vec<&str> = names.iter().filter_map(|n| n.as_deref()).collect();
                distinct.sort_unstable();
                distinct.dedup();
                let unnamed = names.iter().filter(|name| name.is_none()).count();
                if unnamed > 0 {
                    return Err(invalid(
                        "column",
                        format!(
                            "column `{column}` names the splits, but {unnamed} row(s) have no \
                             value in it: fill them, or split by hash buckets"
                        ),
                    ));
                }
                let mut kept = batch.clone();
                if let Ok(index) = batch.schema().index_of(column) {
                    kept.remove_column(index);
                }
                let mut parts = Vec::with_capacity(distinct.len());
                for name in distinct {
                    let mask: BooleanArray = names
                        .iter()
                        .map(|n| Some(n.as_deref() == Some(name)))
                        .collect();
                    parts.push((name.to_owned(), filter(&kept, &mask)?));
                }
                Ok(parts)
            }
        }
    }
}

/// Who the errors of this module name as the owner of the configuration.
const SPLIT_CONFIGURATION: &str = "the split configuration";

/// An [`InvalidOption`](DataError::InvalidOption) of the split configuration.
fn invalid(option: &str, reason: String) -> DataError {
    DataError::InvalidOption {
        owner: SPLIT_CONFIGURATION.to_owned(),
        option: option.to_owned(),
        reason,
    }
}

fn filter(batch: &RecordBatch, mask: &BooleanArray) -> Result<RecordBatch> {
    arrow_select::filter::filter_record_batch(batch, mask)
        .map_err(|error| DataError::arrow("dividing rows into splits", error))
}

fn column_of<'a>(batch: &'a RecordBatch, column: &str) -> Result<&'a std::sync::Arc<dyn Array>> {
    batch.column_by_name(column).ok_or_else(|| {
        DataError::missing_column(column, SPLIT_CONFIGURATION, "the data", &batch.schema())
    })
}

/// Each value's text: integers in decimal, floats as Rust prints them, strings as they are.
pub fn value_texts(array: &dyn Array) -> Vec<Option<String>> {
    (0..array.len())
        .map(|row| {
            if array.is_null(row) {
                return None;
            }
            Some(match array.data_type() {
                DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
                DataType::Float64 => array.as_primitive::<Float64Type>().value(row).to_string(),
                DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
                _ => String::new(),
            })
        })
        .collect()
}

/// FNV-1a 64 of each value's text (a null hashes as the empty text with a marker byte).
pub fn value_hashes(array: &dyn Array) -> Vec<u64> {
    value_texts(array)
        .iter()
        .map(|text| {
            let bytes = text.as_deref().map_or(&[0xFE_u8][..], str::as_bytes);
            fnv1a_64(bytes)
        })
        .collect()
}

/// Fingerprints of whole rows, for data that do not come from CSV text (Parquet imports): the
/// values' [`value_hashes`] folded in column order with [`Fnv1a64::update_word`].
pub fn row_hashes(batch: &RecordBatch) -> Vec<u64> {
    let mut hashers = vec![Fnv1a64::new(); batch.num_rows()];
    for column in batch.columns() {
        for (hasher, value) in hashers.iter_mut().zip(value_hashes(column.as_ref())) {
            hasher.update_word(value);
        }
    }
    hashers.into_iter().map(Fnv1a64::finish).collect()
}
