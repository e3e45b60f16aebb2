//! A node's CPU, memory and GPUs as a KFP container's resources: the quantities as written
//! (`resourceCpuLimit`, `resourceMemoryLimit`, `accelerator.resourceType/resourceCount`) and the
//! older numeric fields `kfp` 2.x still writes beside them (`cpuLimit` in cores, `memoryLimit`
//! in GB, `accelerator.type/count`).

use millrace_core::spec::NodeSpec;
use serde_json::{Map, Value, json};

use crate::{KfpError, KfpOptions};

/// What KFP on Kubernetes calls a GPU when no accelerator type is given.
pub const DEFAULT_ACCELERATOR: &str = "nvidia.com/gpu";

/// Cores in a Kubernetes CPU quantity (`2`, `0.5`, `500m`).
fn cores(quantity: &str) -> Option<f64> {
    match quantity.strip_suffix('m') {
        Some(millis) => millis.parse::<f64>().ok().map(|millis| millis / 1000.0),
        None => quantity.parse().ok(),
    }
}

/// Gigabytes (10^9 bytes, what `memoryLimit` counts) in a Kubernetes memory quantity.
fn gigabytes(quantity: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, bytes_per_unit) = UNITS
        .iter()
        .find_map(|(suffix, bytes)| Some((quantity.strip_suffix(suffix)?, *bytes)))
        .unwrap_or((quantity, 1.0));
    number
        .parse::<f64>()
        .ok()
        .map(|number| number * bytes_per_unit / 1e9)
}

/// The `resources` of `node`'s container, when it asks for any.
pub fn container_resources(
    node: &NodeSpec,
    options: &KfpOptions,
) -> Result<Option<Value>, KfpError> {
    let requested = &node.options.resources;
    let unreadable = |what: &str, quantity: &str| KfpError::Unsupported {
        node: node.id.clone(),
        why: format!("the {what} quantity `{quantity}` cannot be read"),
    };
    let mut resources = Map::new();
    if let Some(cpu) = &requested.cpu {
        let limit = cores(cpu).ok_or_else(|| unreadable("cpu", cpu))?;
        resources.insert("cpuLimit".into(), limit.into());
        resources.insert("resourceCpuLimit".into(), cpu.clone().into());
    }
    if let Some(memory) = &requested.memory {
        let limit = gigabytes(memory).ok_or_else(|| unreadable("memory", memory))?;
        resources.insert("memoryLimit".into(), limit.into());
        resources.insert("resourceMemoryLimit".into(), memory.clone().into());
    }
    if let Some(gpus) = requested.gpu.filter(|gpus| *gpus > 0) {
        let kind = options
            .accelerator_type
            .as_deref()
            .unwrap_or(DEFAULT_ACCELERATOR);
        resources.insert(
            "accelerator".into(),
            json!({
                "count": gpus.to_string(),
                "resourceCount": gpus.to_string(),
                "resourceType": kind,
                "type": kind,
            }),
        );
    }
    Ok((!resources.is_empty()).then_some(Value::Object(resources)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_read_in_kfp_units() {
        assert_eq!(cores("500m"), Some(0.5));
        assert_eq!(cores("2"), Some(2.0));
        assert_eq!(gigabytes("4G"), Some(4.0));
        assert_eq!(gigabytes("512Mi"), Some(0.536870912));
        assert_eq!(gigabytes("zero"), None);
    }
}
