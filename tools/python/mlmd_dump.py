#!/usr/bin/env python3
"""Dump an ML-Metadata SQLite store as one normalized JSON document, read with `ml_metadata`.

    mlmd_dump.py STORE.sqlite
        [--lineage-artifact ID [--lineage-hops N] [--lineage-direction upstream|downstream|both]]
        [--filter 'MLMD FILTER QUERY' [--filter-kind artifacts|executions|contexts]]
        [--mode auto|readonly|readwrite]

The Rust tests run this with $MILLRACE_TEST_PYTHON on stores that Millrace wrote, to check that
Google's own library reads them as Millrace meant, and on stores that mlmd_write.py wrote, to
compare with what Millrace reads. The document's shape is described in README.md beside this
file. Everything comes through the `ml_metadata` API; nothing reads the SQL tables directly.

Opening (--mode): `ml_metadata` registers its nine simple types (mlmd.Dataset, ...) in every
store it opens that lacks them, so READONLY works only on stores that already hold them (any
store `ml_metadata` created does). `auto`, the default, opens the store READONLY and, when that
fails, opens a temporary copy READWRITE: the store given is never modified. `readonly` and
`readwrite` open the store itself in that mode (`readwrite` may add the simple types to it).
"""

import argparse
import base64
import json
import math
import os
import pathlib
import sqlite3
import sys
import tempfile

import ml_metadata as mlmd
from google.protobuf import json_format
from ml_metadata import errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

# The types `ml_metadata` registers by itself; they are left out of the type lists.
SIMPLE_TYPES = frozenset({
    "mlmd.Dataset", "mlmd.Model", "mlmd.Metrics", "mlmd.Statistics",
    "mlmd.Train", "mlmd.Transform", "mlmd.Process", "mlmd.Evaluate", "mlmd.Deploy",
})

DIRECTIONS = {
    "upstream": pb.LineageSubgraphQueryOptions.UPSTREAM,
    "downstream": pb.LineageSubgraphQueryOptions.DOWNSTREAM,
    "both": pb.LineageSubgraphQueryOptions.BIDIRECTIONAL,
}

MODES = {
    "readonly": pb.SqliteMetadataSourceConfig.READONLY,
    "readwrite": pb.SqliteMetadataSourceConfig.READWRITE,
}

# Every listing goes through pages ordered by id (ml_metadata fetches 100 a call).
BY_ID = mlmd.ListOptions(order_by=mlmd.OrderByField.ID)


def optional(message, field):
    """The value of `field` in `message`, or None when it is not set."""
    return getattr(message, field) if message.HasField(field) else None


def enum_name(message, field):
    """The enum value name of `field` in `message` (e.g. "LIVE"), or None when not set."""
    if not message.HasField(field):
        return None
    number = getattr(message, field)
    value = message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number.get(number)
    return value.name if value is not None else number


def double(number):
    """A double for JSON: non-finite values become the strings protobuf's JSON mapping uses."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def value_json(value):
    """An MLMD `Value` as a one-key object: {"int_value": 3}, {"struct_value": {...}}, ..."""
    kind = value.WhichOneof("value")
    if kind == "int_value":
        return {"int_value": value.int_value}
    if kind == "double_value":
        return {"double_value": double(value.double_value)}
    if kind == "string_value":
        return {"string_value": value.string_value}
    if kind == "bool_value":
        return {"bool_value": value.bool_value}
    if kind == "struct_value":
        return {"struct_value": json_format.MessageToDict(value.struct_value)}
    if kind == "proto_value":
        return {"proto_value": {
            "type_url": value.proto_value.type_url,
            "value_base64": base64.b64encode(value.proto_value.value).decode("ascii"),
        }}
    return None  # A Value with no kind set.


def properties_json(properties):
    """A property map as {name: value object}."""
    return {name: value_json(value) for name, value in properties.items()}


def type_json(node_type):
    """An ArtifactType, ExecutionType or ContextType."""
    base_type = enum_name(node_type, "base_type")
    return {
        "name": node_type.name,
        "version": optional(node_type, "version"),
        "description": optional(node_type, "description"),
        "external_id": optional(node_type, "external_id"),
        "base_type": None if base_type == "UNSET" else base_type,
        "properties": {
            name: pb.PropertyType.Name(kind) if kind in pb.PropertyType.values() else kind
            for name, kind in node_type.properties.items()
        },
    }


def types_json(types):
    """The user's types (simple types left out), sorted by name."""
    return sorted((type_json(t) for t in types if t.name not in SIMPLE_TYPES),
                  key=lambda t: (t["name"], t["version"] or ""))


def complete_types(listed, by_id):
    """The types `listed`, fetched again by id, which fills in every field."""
    ids = [t.id for t in listed]
    return by_id(ids) if ids else []


def node_json(node, type_names, fields):
    """The fields every node has, plus the node-specific `fields` (name -> value)."""
    result = {
        "id": node.id,
        "type": optional(node, "type") or type_names.get(node.type_id),
        "name": optional(node, "name"),
        "external_id": optional(node, "external_id"),
        "properties": properties_json(node.properties),
        "custom_properties": properties_json(node.custom_properties),
        "create_time_since_epoch": optional(node, "create_time_since_epoch"),
        "last_update_time_since_epoch": optional(node, "last_update_time_since_epoch"),
    }
    result.update(fields)
    return result


def path_json(path):
    """An event path as a list of {"index": n} / {"key": "s"} steps, in order."""
    steps = []
    for step in path.steps:
        kind = step.WhichOneof("value")
        steps.append({kind: getattr(step, kind)} if kind else {})
    return steps


def event_sort_key(event):
    """Events sort by (execution_id, artifact_id, type name)."""
    return (event["execution_id"], event["artifact_id"], event["type"] or "")


def lineage_json(store, artifact_id, hops, direction):
    """The node ids and events `get_lineage_subgraph` returns from one starting artifact."""
    options = pb.LineageSubgraphQueryOptions(
        starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
            filter_query=f"id = {artifact_id}"),
        max_num_hops=hops,
        direction=DIRECTIONS[direction],
    )
    graph = store.get_lineage_subgraph(options, ["artifacts", "executions", "contexts", "events"])
    return {
        "artifact_ids": sorted(node.id for node in graph.artifacts),
        "execution_ids": sorted(node.id for node in graph.executions),
        "context_ids": sorted(node.id for node in graph.contexts),
        "events": sorted(
            ({"artifact_id": e.artifact_id, "execution_id": e.execution_id,
              "type": enum_name(e, "type")} for e in graph.events),
            key=event_sort_key),
    }


def filter_json(store, kind, query):
    """The ids of the nodes of `kind` that match the MLMD filter `query`."""
    listing = {
        "artifacts": store.get_artifacts,
        "executions": store.get_executions,
        "contexts": store.get_contexts,
    }[kind]
    options = mlmd.ListOptions(order_by=mlmd.OrderByField.ID, filter_query=query)
    return {"kind": kind, "ids": sorted(node.id for node in listing(list_options=options))}


def dump(store, arguments):
    """The whole normalized document for `store`."""
    # In 1.17.1 the get_*_types() listings leave external_id out (and get_*_types_by_external_ids
    # leaves base_type out); get_*_types_by_id returns every field. So: list, then fetch by id.
    artifact_types = complete_types(store.get_artifact_types(), store.get_artifact_types_by_id)
    execution_types = complete_types(store.get_execution_types(),
                                     store.get_execution_types_by_id)
    context_types = complete_types(store.get_context_types(), store.get_context_types_by_id)
    type_names = {t.id: t.name for t in (*artifact_types, *execution_types, *context_types)}

    artifacts = store.get_artifacts(list_options=BY_ID)
    executions = store.get_executions(list_options=BY_ID)
    contexts = store.get_contexts(list_options=BY_ID)

    events = {}
    found = []
    if executions:
        found += store.get_events_by_execution_ids([e.id for e in executions])
    if artifacts:
        found += store.get_events_by_artifact_ids([a.id for a in artifacts])
    for event in found:
        events[(event.artifact_id, event.execution_id, event.type)] = {
            "artifact_id": event.artifact_id,
            "execution_id": event.execution_id,
            "type": enum_name(event, "type"),
            "path": path_json(event.path),
            "milliseconds_since_epoch": optional(event, "milliseconds_since_epoch"),
        }

    attributions, associations, parent_contexts = [], [], []
    for context in contexts:
        for artifact in store.get_artifacts_by_context(context.id, list_options=BY_ID):
            attributions.append({"context_id": context.id, "artifact_id": artifact.id})
        for execution in store.get_executions_by_context(context.id, list_options=BY_ID):
            associations.append({"context_id": context.id, "execution_id": execution.id})
        for parent in store.get_parent_contexts_by_context(context.id):
            parent_contexts.append({"child_id": context.id, "parent_id": parent.id})

    lineage = None
    if arguments.lineage_artifact is not None:
        lineage = lineage_json(store, arguments.lineage_artifact, arguments.lineage_hops,
                               arguments.lineage_direction)
    matched = None
    if arguments.filter is not None:
        matched = filter_json(store, arguments.filter_kind, arguments.filter)

    return {
        "artifact_types": types_json(artifact_types),
        "execution_types": types_json(execution_types),
        "context_types": types_json(context_types),
        "artifacts": sorted((node_json(a, type_names, {
            "uri": optional(a, "uri"),
            "state": enum_name(a, "state"),
        }) for a in artifacts), key=lambda a: a["id"]),
        "executions": sorted((node_json(e, type_names, {
            "last_known_state": enum_name(e, "last_known_state"),
        }) for e in executions), key=lambda e: e["id"]),
        "contexts": sorted((node_json(c, type_names, {}) for c in contexts),
                           key=lambda c: c["id"]),
        "events": sorted(events.values(), key=event_sort_key),
        "attributions": sorted(attributions,
                               key=lambda a: (a["context_id"], a["artifact_id"])),
        "associations": sorted(associations,
                               key=lambda a: (a["context_id"], a["execution_id"])),
        "parent_contexts": sorted(parent_contexts,
                                  key=lambda p: (p["child_id"], p["parent_id"])),
        "lineage": lineage,
        "filter": matched,
    }


def open_store(path, mode):
    """A MetadataStore on the SQLite file `path`, opened as the module docstring says."""
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = MODES[mode]
    return metadata_store.MetadataStore(config)


def parse_arguments():
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Prints one JSON document on stdout; see README.md for its shape.")
    parser.add_argument("store", help="an existing ML-Metadata SQLite file")
    parser.add_argument("--lineage-artifact", type=int, metavar="ID",
                        help="also report get_lineage_subgraph from this artifact")
    parser.add_argument("--lineage-hops", type=int, default=20, metavar="N",
                        help="max_num_hops of the lineage query (default 20)")
    parser.add_argument("--lineage-direction", choices=sorted(DIRECTIONS), default="both",
                        help="direction of the lineage query (default both = BIDIRECTIONAL)")
    parser.add_argument("--filter", metavar="QUERY",
                        help="also report the ids of the nodes matching this MLMD filter query")
    parser.add_argument("--filter-kind", choices=["artifacts", "executions", "contexts"],
                        default="artifacts", help="which nodes --filter lists (default artifacts)")
    parser.add_argument("--mode", choices=["auto", "readonly", "readwrite"], default="auto",
                        help="how to open the store (default auto: READONLY, else a copy)")
    arguments = parser.parse_args()
    if not os.path.isfile(arguments.store):
        parser.error(f"{arguments.store} is not a file")
    if arguments.lineage_hops < 0:
        parser.error("--lineage-hops must be at least 0")
    return arguments


def read_only_sqlite(path):
    """A plain sqlite3 connection to `path` that cannot write (nor create the file)."""
    return sqlite3.connect(pathlib.Path(path).absolute().as_uri() + "?mode=ro", uri=True)


def schema_version(path):
    """The store's MLMDEnv.schema_version, or None when the file has no MLMDEnv table."""
    connection = read_only_sqlite(path)
    try:
        row = connection.execute("SELECT schema_version FROM MLMDEnv").fetchone()
    except sqlite3.DatabaseError:
        row = None
    finally:
        connection.close()
    return row[0] if row else None


def dump_auto(arguments):
    """Dumps the store READONLY or, when that fails, a READWRITE temporary copy of it."""
    try:
        store = open_store(arguments.store, "readonly")
    except RuntimeError as error:
        if schema_version(arguments.store) is None:
            sys.exit(f"mlmd_dump.py: {arguments.store} is not an ML-Metadata store "
                     f"(no MLMDEnv table): {error}")
        print(f"mlmd_dump.py: opening READONLY failed ({error}); reading a READWRITE copy",
              file=sys.stderr)
    else:
        return dump(store, arguments)
    with tempfile.TemporaryDirectory(prefix="mlmd_dump-") as scratch:
        copy = os.path.join(scratch, "store.sqlite")
        source, target = read_only_sqlite(arguments.store), sqlite3.connect(copy)
        try:
            source.backup(target)  # A consistent snapshot, write-ahead log included.
        finally:
            source.close()
            target.close()
        return dump(open_store(copy, "readwrite"), arguments)


def main():
    """Opens the store, dumps it on stdout."""
    arguments = parse_arguments()
    try:
        if arguments.mode == "auto":
            document = dump_auto(arguments)
        else:
            document = dump(open_store(arguments.store, arguments.mode), arguments)
    except (errors.StatusError, RuntimeError) as error:
        sys.exit(f"mlmd_dump.py: {arguments.store}: {type(error).__name__}: {error}")
    json.dump(document, sys.stdout, sort_keys=True, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
