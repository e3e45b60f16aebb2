#!/usr/bin/env python3
"""Write a rich ML-Metadata graph into a NEW SQLite store, through the real `ml_metadata` API.

    mlmd_write.py STORE.sqlite

The Rust tests run this with $MILLRACE_TEST_PYTHON, then read the store with Millrace's own
SQLite backend (and dump it with mlmd_dump.py) to check that both sides agree. It prints
nothing and exits 0; any failure is a traceback and a non-zero exit.

What it writes (ids are deterministic: they follow the order of the calls below):

* artifact types: Examples (base DATASET; a property of each of the six property types,
  version, description, external id), Model (base MODEL), ModelEvaluation (base METRICS),
  ModelBlessing (no base type, no version/description/external id);
* execution types: ExampleGen (base PROCESS), Trainer (base TRAIN, a property of each type),
  Evaluator (base EVALUATE);
* context types: pipeline, pipeline_run, node (each with properties);
* contexts: pipeline `taxi` <- pipeline_run `taxi-run-1` (parent context), and a `node`
  context per component, each the child of the pipeline;
* the chain examples -> Trainer -> model -> Evaluator -> evaluation + blessing, plus a failed
  Trainer run with a PENDING model, a CACHED ExampleGen, a model MARKED_FOR_DELETION and a
  DELETED examples artifact;
* artifacts in states PENDING, LIVE, MARKED_FOR_DELETION and DELETED; executions in states
  COMPLETE, FAILED and CACHED; properties and custom properties of every value kind (int,
  double, string, struct, proto, bool);
* INPUT and OUTPUT events whose paths mix keys and indexes; attributions and associations,
  partly through `put_execution` (artifacts, events and contexts in one call).
"""

import argparse
import os
import sys

from google.protobuf import any_pb2, struct_pb2
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

INT = pb.INT
DOUBLE = pb.DOUBLE
STRING = pb.STRING
STRUCT = pb.STRUCT
PROTO = pb.PROTO
BOOLEAN = pb.BOOLEAN


def packed(message):
    """An `Any` holding `message` (type_url type.googleapis.com/<full name>)."""
    value = any_pb2.Any()
    value.Pack(message)
    return value


def set_value(target, value):
    """Sets the MLMD `Value` `target` from a Python value; the kind follows the Python type."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, dict):
        target.struct_value.update(value)
    elif isinstance(value, any_pb2.Any):
        target.proto_value.CopyFrom(value)
    else:
        raise TypeError(f"no MLMD value kind for {value!r}")


def fill(node, properties=None, custom_properties=None):
    """Sets `node`'s properties and custom properties from dicts; returns `node`."""
    for name, value in (properties or {}).items():
        set_value(node.properties[name], value)
    for name, value in (custom_properties or {}).items():
        set_value(node.custom_properties[name], value)
    return node


def node_type(message, name, properties, base_type=None, version=None, description=None,
              external_id=None):
    """A type message (ArtifactType, ExecutionType, ContextType) with the given fields."""
    result = message(name=name)
    for property_name, property_type in properties.items():
        result.properties[property_name] = property_type
    if base_type is not None:
        result.base_type = base_type
    if version is not None:
        result.version = version
    if description is not None:
        result.description = description
    if external_id is not None:
        result.external_id = external_id
    return result


def artifact(type_id, uri, state, name=None, external_id=None, properties=None,
             custom_properties=None):
    """An Artifact message."""
    result = pb.Artifact(type_id=type_id, uri=uri, state=state)
    if name is not None:
        result.name = name
    if external_id is not None:
        result.external_id = external_id
    return fill(result, properties, custom_properties)


def execution(type_id, state, name=None, external_id=None, properties=None,
              custom_properties=None):
    """An Execution message."""
    result = pb.Execution(type_id=type_id, last_known_state=state)
    if name is not None:
        result.name = name
    if external_id is not None:
        result.external_id = external_id
    return fill(result, properties, custom_properties)


def event(kind, *steps, artifact_id=None, execution_id=None):
    """An Event of `kind` whose path is `steps` (an int is an index, a str a key)."""
    result = pb.Event(type=kind)
    if artifact_id is not None:
        result.artifact_id = artifact_id
    if execution_id is not None:
        result.execution_id = execution_id
    for step in steps:
        if isinstance(step, int):
            result.path.steps.add().index = step
        else:
            result.path.steps.add().key = step
    return result


def every_kind(prefix):
    """Custom properties with one value of every kind, named `<prefix>_<kind>`."""
    return {
        f"{prefix}_int": -42,
        f"{prefix}_double": 2.5,
        f"{prefix}_string": f"{prefix} text",
        f"{prefix}_struct": {"nested": {"list": [1, "two", True, None]}, "flag": False},
        f"{prefix}_proto": packed(
            struct_pb2.ListValue(values=[struct_pb2.Value(number_value=1.5)])),
        f"{prefix}_bool": True,
    }


def write(store):
    """Writes the whole graph into `store`."""
    Artifact = pb.Artifact
    Execution = pb.Execution
    Event = pb.Event

    # Types.
    examples_type = store.put_artifact_type(node_type(
        pb.ArtifactType, "Examples",
        {"span": INT, "weight": DOUBLE, "split_names": STRING, "schema_info": STRUCT,
         "payload": PROTO, "is_external": BOOLEAN},
        base_type=pb.ArtifactType.DATASET, version="1.0.0",
        description="Training and evaluation examples", external_id="type:Examples"))
    model_type = store.put_artifact_type(node_type(
        pb.ArtifactType, "Model",
        {"accuracy": DOUBLE, "framework": STRING, "epochs": INT, "hyperparameters": STRUCT,
         "blessed": BOOLEAN},
        base_type=pb.ArtifactType.MODEL, version="2", description="A trained model"))
    evaluation_type = store.put_artifact_type(node_type(
        pb.ArtifactType, "ModelEvaluation", {"auc": DOUBLE},
        base_type=pb.ArtifactType.METRICS))
    blessing_type = store.put_artifact_type(node_type(
        pb.ArtifactType, "ModelBlessing", {"blessed": BOOLEAN}))
    example_gen_type = store.put_execution_type(node_type(
        pb.ExecutionType, "ExampleGen", {"input_base": STRING},
        base_type=pb.ExecutionType.PROCESS))
    trainer_type = store.put_execution_type(node_type(
        pb.ExecutionType, "Trainer",
        {"num_steps": INT, "learning_rate": DOUBLE, "module": STRING, "config": STRUCT,
         "warm_start": BOOLEAN, "payload": PROTO},
        base_type=pb.ExecutionType.TRAIN, version="1.0.0", description="Trains a model",
        external_id="type:Trainer"))
    evaluator_type = store.put_execution_type(node_type(
        pb.ExecutionType, "Evaluator", {"threshold": DOUBLE},
        base_type=pb.ExecutionType.EVALUATE))
    pipeline_type = store.put_context_type(node_type(
        pb.ContextType, "pipeline", {"owner": STRING},
        description="A pipeline", external_id="type:pipeline"))
    run_type = store.put_context_type(node_type(
        pb.ContextType, "pipeline_run", {"run_number": INT, "started": BOOLEAN}))
    node_context_type = store.put_context_type(node_type(
        pb.ContextType, "node", {"component": STRING}))

    # Contexts: pipeline <- pipeline_run, pipeline <- node (one per component).
    pipeline = pb.Context(type_id=pipeline_type, name="taxi", external_id="ctx:taxi")
    fill(pipeline, {"owner": "millrace"}, {"labels": {"team": "ml", "tier": 1}})
    run = fill(pb.Context(type_id=run_type, name="taxi-run-1"),
               {"run_number": 1, "started": True}, {"run_weight": 0.75})
    nodes = [fill(pb.Context(type_id=node_context_type, name=f"taxi.{component}"),
                  {"component": component})
             for component in ("ExampleGen", "Trainer", "Evaluator")]
    pipeline_id, run_id, example_gen_node, trainer_node, evaluator_node = store.put_contexts(
        [pipeline, run, *nodes])
    store.put_parent_contexts(
        [pb.ParentContext(child_id=run_id, parent_id=pipeline_id)]
        + [pb.ParentContext(child_id=node_id, parent_id=pipeline_id)
           for node_id in (example_gen_node, trainer_node, evaluator_node)])
    [pipeline, run, example_gen_ctx, trainer_ctx, evaluator_ctx] = store.get_contexts_by_id(
        [pipeline_id, run_id, example_gen_node, trainer_node, evaluator_node])

    # ExampleGen: examples (artifact 1) through the separate put_* calls.
    [examples_id] = store.put_artifacts([artifact(
        examples_type, "/pipelines/taxi/ExampleGen/examples/1", Artifact.LIVE,
        name="taxi-examples", external_id="art:examples",
        properties={"span": 7, "weight": 0.5, "split_names": '["train", "eval"]',
                    "schema_info": {"columns": ["fare", "tips"], "rows": 10000},
                    "payload": packed(struct_pb2.Value(string_value="x")),
                    "is_external": False},
        custom_properties=every_kind("examples"))])
    [example_gen_id] = store.put_executions([execution(
        example_gen_type, Execution.COMPLETE, name="taxi-run-1.ExampleGen",
        external_id="exe:example_gen", properties={"input_base": "data/taxi.csv"},
        custom_properties={"rows_read": 10000})])
    store.put_events([event(Event.OUTPUT, "examples", 0, artifact_id=examples_id,
                            execution_id=example_gen_id)])
    store.put_attributions_and_associations(
        [pb.Attribution(context_id=context.id, artifact_id=examples_id)
         for context in (pipeline, run, example_gen_ctx)],
        [pb.Association(context_id=context.id, execution_id=example_gen_id)
         for context in (pipeline, run, example_gen_ctx)])
    [examples] = store.get_artifacts_by_id([examples_id])

    # Trainer: one put_execution call stores the execution, the model (artifact 2), both
    # events, the attributions and the associations.
    trainer = execution(
        trainer_type, Execution.COMPLETE, name="taxi-run-1.Trainer", external_id="exe:trainer",
        properties={"num_steps": 1000, "learning_rate": 0.01, "module": "taxi.trainer",
                    "config": {"optimizer": "adam", "layers": [64, 32]},
                    "warm_start": False,
                    "payload": packed(struct_pb2.Value(number_value=3.0))},
        custom_properties=every_kind("trainer"))
    model = artifact(
        model_type, "/pipelines/taxi/Trainer/model/2", Artifact.LIVE, name="taxi-model",
        external_id="art:model",
        properties={"accuracy": 0.91, "framework": "smartcore", "epochs": 12,
                    "hyperparameters": {"max_depth": 6}, "blessed": True},
        custom_properties=every_kind("model"))
    trainer_id, [_, model_id], _ = store.put_execution(
        trainer,
        [(examples, event(Event.INPUT, "examples", 0)),
         (model, event(Event.OUTPUT, "model", 0))],
        [pipeline, run, trainer_ctx],
        force_reuse_context=True)
    [model] = store.get_artifacts_by_id([model_id])

    # Evaluator: evaluation (artifact 3) and blessing (artifact 4), again in one call.
    evaluation = artifact(evaluation_type, "/pipelines/taxi/Evaluator/evaluation/3",
                          Artifact.LIVE, properties={"auc": 0.87})
    blessing = artifact(
        blessing_type, "/pipelines/taxi/Evaluator/blessing/3", Artifact.LIVE,
        name="taxi-blessing", properties={"blessed": True},
        custom_properties={"threshold_met": True, "note": "auc above 0.8"})
    store.put_execution(
        execution(evaluator_type, Execution.COMPLETE, name="taxi-run-1.Evaluator",
                  properties={"threshold": 0.8}),
        [(model, event(Event.INPUT, "model", 0)),
         (examples, event(Event.INPUT, "examples", 0, "eval")),
         (evaluation, event(Event.OUTPUT, "evaluation", 0)),
         (blessing, event(Event.OUTPUT, "blessing", 0, "result", 1))],
        [pipeline, run, evaluator_ctx],
        force_reuse_context=True)

    # A failed Trainer run: its model (artifact 5) stays PENDING.
    failed_trainer = execution(
        trainer_type, Execution.FAILED, name="taxi-run-1.Trainer.retry",
        properties={"num_steps": 5, "learning_rate": 10.0, "module": "taxi.trainer",
                    "warm_start": True},
        custom_properties={"error": "loss diverged", "exit_code": 1})
    store.put_execution(
        failed_trainer,
        [(examples, event(Event.INPUT, "examples", 0)),
         (artifact(model_type, "/pipelines/taxi/Trainer/model/5", Artifact.PENDING,
                   name="taxi-model-retry", properties={"epochs": 0}),
          event(Event.OUTPUT, "model", 0))],
        [pipeline, run, trainer_ctx],
        force_reuse_context=True)

    # A cached ExampleGen: it reuses the examples (no new artifact).
    store.put_execution(
        execution(example_gen_type, Execution.CACHED, name="taxi-run-2.ExampleGen",
                  properties={"input_base": "data/taxi.csv"},
                  custom_properties={"cached_execution_id": example_gen_id}),
        [(examples, event(Event.OUTPUT, "examples", 0))],
        [pipeline, example_gen_ctx],
        force_reuse_context=True)

    # Older artifacts on their way out (artifacts 6 and 7), attributed to the pipeline only.
    old_ids = store.put_artifacts([
        artifact(model_type, "/pipelines/taxi/Trainer/model/0", Artifact.MARKED_FOR_DELETION,
                 name="taxi-model-old", external_id="art:model-old",
                 properties={"accuracy": 0.5, "blessed": False}),
        artifact(examples_type, "/pipelines/taxi/ExampleGen/examples/0", Artifact.DELETED,
                 name="taxi-examples-old", properties={"span": 6},
                 custom_properties={"deleted_by": "garbage collector"}),
    ])
    store.put_attributions_and_associations(
        [pb.Attribution(context_id=pipeline_id, artifact_id=old_id) for old_id in old_ids], [])


def main():
    """Parses the command line and writes the graph."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="path of the SQLite file to create (must not exist)")
    arguments = parser.parse_args()
    if os.path.exists(arguments.store):
        parser.error(f"{arguments.store} exists; mlmd_write.py only writes new stores")
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = arguments.store
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    write(metadata_store.MetadataStore(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
