//! The standard artifact types, named and shaped as in TFX so that lineage reads the same.

use super::{Artifact, BaseType, PropertySpec, PropertyType};

macro_rules! standard_artifact {
    ($(#[$doc:meta])* $name:ident, $base:expr, [$($property:literal : $property_type:ident),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl Artifact for $name {
            const TYPE_NAME: &'static str = stringify!($name);
            const BASE_TYPE: Option<BaseType> = $base;
            const PROPERTIES: &'static [PropertySpec] = &[
                $(PropertySpec { name: $property, property_type: PropertyType::$property_type }),*
            ];
        }

        inventory::submit! { super::ArtifactTypeInfo::of::<$name>() }
    };
}

standard_artifact!(
    /// Training and evaluation examples, one Parquet directory per split.
    Examples, Some(BaseType::Dataset), ["span": Int, "version": Int, "split_names": String]
);
standard_artifact!(
    /// Per-split, per-feature statistics of some examples.
    ExampleStatistics, Some(BaseType::Statistics), ["span": Int, "split_names": String]
);
standard_artifact!(
    /// The expected shape of the data: feature types, presence, domains.
    Schema, None, []
);
standard_artifact!(
    /// Anomalies found when validating examples against a schema.
    ExampleAnomalies, None, ["span": Int, "split_names": String]
);
standard_artifact!(
    /// A fitted preprocessing graph, applied identically in training and serving.
    TransformGraph, None, []
);
standard_artifact!(
    /// A trained model: a directory with a manifest beside the model files.
    Model, Some(BaseType::Model), []
);
standard_artifact!(
    /// Evaluation metrics of a model, overall and per slice.
    ModelEvaluation, Some(BaseType::Metrics), []
);
standard_artifact!(
    /// The verdict of the evaluator: whether a model passed its thresholds.
    ModelBlessing, None, ["blessed": Boolean]
);
standard_artifact!(
    /// The verdict of the infra validator: whether a model loads and serves.
    InfraBlessing, None, ["blessed": Boolean]
);
standard_artifact!(
    /// A model pushed to a serving destination.
    PushedModel, None, ["pushed": Boolean, "destination": String, "pushed_version": String]
);
standard_artifact!(
    /// Hyper-parameters chosen by a tuner.
    HyperParameters, None, []
);
standard_artifact!(
    /// Batch predictions of a model.
    InferenceResult, None, []
);
standard_artifact!(
    /// A generic data set.
    Dataset, Some(BaseType::Dataset), []
);
standard_artifact!(
    /// Generic metrics.
    Metrics, Some(BaseType::Metrics), []
);

impl ModelBlessing {
    /// The custom property holding the id of the model the verdict is about (TFX's name):
    /// resolvers find a model's blessing by it, with an index lookup.
    pub const CURRENT_MODEL_ID: &'static str = "current_model_id";
    /// The custom property holding the id of the baseline model it was compared with.
    pub const BASELINE_MODEL_ID: &'static str = "baseline_model_id";
}
