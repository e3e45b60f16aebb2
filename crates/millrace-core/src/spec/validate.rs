//! Validation of a pipeline spec: every problem at once, each with the node it concerns.
//!
//! A spec built with the typed API is correct by construction in its wiring, but a spec read
//! from JSON may be anything. [`validate`] checks names and ids, component kinds and artifact
//! types against a [`Catalog`], every edge's types, required inputs, dangling references,
//! cycles, parameter values, configurations, command placeholders, conditions, resolvers,
//! importers, the exit handler and the schedule — and never panics, whatever the input.
//!
//! Names that become parts of artifact paths (the pipeline's name, node ids, output names) are
//! single path segments by construction ([`is_valid_id`], [`is_valid_output_name`]). And the
//! spec holds no credentials: it is written into every compiled file, so a root, an importer's
//! source or a parameter default with a password in it is a problem. [`redact_secrets`] is the
//! one function that finds credentials in text — a URL's password, a `password=` parameter, a
//! secret key's value — and replaces them with `***`; every crate that shows a URL, an error
//! or a log line to anyone uses it.
//!
//! Cost: one pass over the nodes, each edge looked up once — O(nodes + edges) map lookups, and
//! a topological sort (Kahn's, with a heap: O(edges + nodes log nodes)). What a node looks up of
//! other nodes — their ids, output names and types — is first copied side by side into one
//! table (`NodeTable`): a 10,000-node spec is spread over the heap, and reading each
//! producer where it lies cost a cache miss an edge; the table takes some 300 KB.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use crate::spec::catalog::{Catalog, KindDescription, TriedConfiguration};
use crate::spec::command::Placeholder;
use crate::spec::condition::Operand;
use crate::spec::interface::ComponentInterface;
use crate::spec::node::{ChannelRef, NodeSpec, OutputSpec, ResolverStrategy, TaskSpec};
use crate::spec::parameter::{ParameterType, referenced_parameters, substitute_parameters};
use crate::spec::pipeline_spec::{PipelineSpec, SCHEMA_VERSION};
pub use crate::spec::problem::{Problem, ValidationIssue};

fn unknown_config_parameter(name: String) -> Problem {
    Problem::UnknownParameter {
        name,
        place: "the configuration".to_owned(),
    }
}

/// A topological order that keeps the nodes' declaration order wherever the edges allow (Kahn's
/// algorithm, always taking the earliest-declared ready node), so that listings and summaries
/// read in the order the pipeline was written. `None` if the graph has a cycle.
fn insertion_ordered_toposort(graph: &DiGraph<usize, ()>) -> Option<Vec<usize>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|index| {
            graph
                .neighbors_directed(index, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = graph
        .node_indices()
        .filter(|index| indegree[index.index()] == 0)
        .map(|index| Reverse(index.index()))
        .collect();
    let mut order = Vec::with_capacity(indegree.len());
    while let Some(Reverse(next)) = ready.pop() {
        order.push(graph[NodeIndex::new(next)]);
        for downstream in
            graph.neighbors_directed(NodeIndex::new(next), petgraph::Direction::Outgoing)
        {
            let count = &mut indegree[downstream.index()];
            *count = count.saturating_sub(1);
            if *count == 0 {
                ready.push(Reverse(downstream.index()));
            }
        }
    }
    (order.len() == indegree.len()).then_some(order)
}

/// Whether `id` is a valid node id or pipeline name.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic())
        && id.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether `name` is a valid output name: 1 to 63 ASCII letters, digits, `_` or `-`, starting
/// with a letter or `_` — one path segment of every artifact the output holds, never `.`, `..`
/// or a separator.
pub fn is_valid_output_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What [`redact_secrets`] puts in place of a secret.
pub const REDACTED: &str = "***";

/// Parameter names whose values are secrets, lower case with `-` read as `_`; names ending in
/// `password`, `secret` or `_token` are secrets too.
const SECRET_KEYS: &[&str] = &[
    "passwd",
    "pwd",
    "sig",
    "signature",
    "token",
    "api_key",
    "apikey",
    "secret_key",
    "secret_access_key",
    "aws_secret_access_key",
    "x_amz_signature",
    "account_key",
    "azure_storage_account_key",
    "azure_storage_sas_key",
    "sas_token",
    "private_key",
    "google_service_account_key",
];

/// `text` with every credential in it replaced by [`REDACTED`]:
///
/// - the password of a URL's user: `postgresql://user:s3cret@host/db` →
///   `postgresql://user:***@host/db` (for `postgres://` URLs, what PostgreSQL's clients read as
///   the password: everything from the first `:` to the `@`);
/// - the value of a secret parameter, in a URL's query, a key/value connection string or an
///   environment listing: `password=`, `sslpassword=`, `secret=`, `token=`, `sig=` (an Azure
///   SAS), `X-Amz-Signature=`, `AWS_SECRET_ACCESS_KEY=`, `AZURE_STORAGE_ACCOUNT_KEY=`, and any
///   name ending in `password`, `secret` or `_token` (a quoted value is replaced whole).
///
/// Text without any is returned as it is (borrowed). What is shown to anyone — an error
/// message, a log line, an exported file, a page — goes through here; the URL itself, where it
/// is used to connect, does not.
///
/// ```
/// use millrace_core::spec::validate::redact_secrets;
///
/// assert_eq!(
///     redact_secrets("cannot reach postgresql://mlmd:s3cret@db:5432/mlmd"),
///     "cannot reach postgresql://mlmd:***@db:5432/mlmd"
/// );
/// assert_eq!(
///     redact_secrets("host=db user=mlmd password='s3 cret' dbname=mlmd"),
///     "host=db user=mlmd password='***' dbname=mlmd"
/// );
/// assert_eq!(redact_secrets("s3://bucket/prefix"), "s3://bucket/prefix");
/// ```
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let passwords = redact_url_passwords(text);
    match redact_secret_parameters(&passwords) {
        Cow::Borrowed(_) => passwords,
        Cow::Owned(redacted) => Cow::Owned(redacted),
    }
}

/// Whether `text` holds a credential that [`redact_secrets`] would hide.
pub fn holds_secret(text: &str) -> bool {
    redact_secrets(text) != text
}

/// Whether `c` ends a URL or a value in running text.
fn ends_token(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

/// Where the run of characters that `belongs` ending at byte `end` of `text` starts.
fn run_start(text: &str, end: usize, belongs: impl Fn(char) -> bool) -> usize {
    text[..end]
        .char_indices()
        .rev()
        .find(|&(_, c)| !belongs(c))
        .map_or(0, |(index, c)| index + c.len_utf8())
}

/// Every `scheme://user:password@` with the password replaced.
fn redact_url_passwords(text: &str) -> Cow<'_, str> {
    let mut redacted = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let start = search + found + 3;
        search = start;
        let scheme = &text[run_start(text, start - 3, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
        })..start - 3];
        let scheme = scheme.to_ascii_lowercase();
        let rest = &text[start..];
        let token = &rest[..rest.find(ends_token).unwrap_or(rest.len())];
        // PostgreSQL's clients read the user's part up to the first `@` wherever it is; other
        // URLs end their authority at the first `/`, `?` or `#`.
        let authority = if scheme.starts_with("postgres") {
            token
        } else {
            &token[..token.find(['/', '?', '#']).unwrap_or(token.len())]
        };
        let (Some(at), Some(colon)) = (authority.rfind('@'), authority.find(':')) else {
            continue;
        };
        if colon >= at || &authority[colon + 1..at] == REDACTED {
            continue;
        }
        redacted.push_str(&text[copied..start + colon + 1]);
        redacted.push_str(REDACTED);
        copied = start + at;
        search = copied;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    redacted.push_str(&text[copied..]);
    Cow::Owned(redacted)
}

/// Whether a parameter called `key` holds a secret.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    key.ends_with("password")
        || key.ends_with("secret")
        || key.ends_with("_token")
        || SECRET_KEYS.contains(&key.as_str())
}

/// Every `KEY=value` whose key names a secret, with the value replaced.
fn redact_secret_parameters(text: &str) -> Cow<'_, str> {
    let mut redacted = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find('=') {
        let equals = search + found;
        search = equals + 1;
        let key_start = run_start(text, equals, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
        });
        if key_start < copied || !is_secret_key(&text[key_start..equals]) {
            continue;
        }
        let rest = &text[equals + 1..];
        let (value_start, value_end) = match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let inner = &rest[1..];
                (1, 1 + inner.find(quote).unwrap_or(inner.len()))
            }
            _ => (
                0,
                rest.find(|c: char| ends_token(c) || matches!(c, '&' | ';'))
                    .unwrap_or(rest.len()),
            ),
        };
        let value = &rest[value_start..value_end];
        if value.is_empty() || value == REDACTED {
            continue;
        }
        redacted.push_str(&text[copied..equals + 1 + value_start]);
        redacted.push_str(REDACTED);
        copied = equals + 1 + value_end;
        search = copied;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    redacted.push_str(&text[copied..]);
    Cow::Owned(redacted)
}

/// Whether `name` is a valid runtime parameter name.
pub fn is_valid_parameter_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && name.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The result of a successful validation: an execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedGraph {
    /// Node indices in a topological order (upstream first).
    pub order: Vec<usize>,
}

/// Checks a spec against the kinds and types of a catalog, reporting every problem found.
pub fn validate(
    spec: &PipelineSpec,
    catalog: &dyn Catalog,
) -> Result<ValidatedGraph, Vec<ValidationIssue>> {
    let table = NodeTable::of(spec);
    let mut check = Checker {
        spec,
        catalog,
        table: &table,
        issues: Vec::new(),
        index_of: HashMap::with_capacity(spec.nodes.len()),
        trial_values: BTreeMap::new(),
        descriptions: HashMap::new(),
        last_trial: HashMap::new(),
        producers: Vec::new(),
        declared_outputs: Vec::new(),
        edges: Vec::with_capacity(2 * spec.nodes.len()),
    };
    check.trial_values = check.trial_parameter_values();
    check.pipeline_fields();
    check.parameters();
    check.node_ids();
    for (index, node) in spec.nodes.iter().enumerate() {
        check.node(node);
        check.record_edges(index, node);
    }
    check.exit_handler();
    let order = check.order();
    if check.issues.is_empty() {
        Ok(ValidatedGraph { order })
    } else {
        Err(check.issues)
    }
}

/// What trying a configuration found.
#[derive(Debug, Clone, Default)]
struct Trial {
    /// Problems with the configuration itself.
    problems: Vec<Problem>,
    /// The inputs a command's placeholders read, with the placeholder's text.
    placeholder_inputs: Vec<(String, String)>,
}

/// What a node looks up of the others — ids, output names and output types — copied side by
/// side into one string, in node order.
struct NodeTable {
    text: String,
    /// Per node: where its id is in `text`, and which of `outputs` are its.
    nodes: Vec<(Range<usize>, Range<usize>)>,
    /// Per output: where its name and its artifact type are in `text`.
    outputs: Vec<(Range<usize>, Range<usize>)>,
}

impl NodeTable {
    fn of(spec: &PipelineSpec) -> Self {
        let mut table = NodeTable {
            text: String::with_capacity(48 * spec.nodes.len()),
            nodes: Vec::with_capacity(spec.nodes.len()),
            outputs: Vec::with_capacity(spec.nodes.len()),
        };
        for node in &spec.nodes {
            let id = table.copy(&node.id);
            let first = table.outputs.len();
            for (name, output) in &node.outputs {
                let name = table.copy(name);
                let artifact_type = table.copy(&output.artifact_type);
                table.outputs.push((name, artifact_type));
            }
            table.nodes.push((id, first..table.outputs.len()));
        }
        table
    }

    fn copy(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    fn text(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }

    /// The id of node `index`.
    fn id(&self, index: usize) -> &str {
        self.nodes.get(index).map_or("", |(id, _)| self.text(id))
    }

    /// The artifact type of output `output` of node `index`.
    fn output_type(&self, index: usize, output: &str) -> Option<&str> {
        let (_, outputs) = self.nodes.get(index)?;
        self.outputs
            .get(outputs.clone())?
            .iter()
            .find(|(name, _)| self.text(name) == output)
            .map(|(_, artifact_type)| self.text(artifact_type))
    }
}

struct Checker<'a, 't> {
    spec: &'a PipelineSpec,
    catalog: &'a dyn Catalog,
    table: &'t NodeTable,
    issues: Vec<ValidationIssue>,
    index_of: HashMap<&'t str, usize>,
    /// A value for every parameter, used to try each configuration.
    trial_values: BTreeMap<String, Value>,
    /// What the catalog says of each component kind met so far.
    descriptions: HashMap<&'a str, Option<std::rc::Rc<KindDescription>>>,
    /// Per kind, the last configuration tried and the problems it had: pipelines often repeat
    /// a component with the same configuration, and trying it is a pure function of it.
    last_trial: HashMap<&'a str, (&'a Value, Trial)>,
    /// The nodes the node being checked reads, as they are looked up.
    producers: Vec<usize>,
    /// The outputs the component of the node being checked declares, names and types.
    declared_outputs: Vec<(&'static str, &'static str)>,
    /// Every edge, producer to consumer, for the topological order.
    edges: Vec<(usize, usize)>,
}

impl<'a, 't> Checker<'a, 't> {
    fn pipeline_issue(&mut self, problem: Problem) {
        self.issues.push(ValidationIssue::pipeline(problem));
    }

    fn node_issue(&mut self, node: &str, problem: Problem) {
        self.issues.push(ValidationIssue::node(node, problem));
    }

    fn pipeline_fields(&mut self) {
        if self.spec.schema_version != SCHEMA_VERSION {
            self.pipeline_issue(Problem::UnsupportedSchemaVersion {
                found: self.spec.schema_version.clone(),
                expected: SCHEMA_VERSION,
            });
        }
        if !is_valid_id(&self.spec.name) {
            self.pipeline_issue(Problem::InvalidPipelineName(self.spec.name.clone()));
        }
        if let Some(root) = &self.spec.root
            && holds_secret(root)
        {
            self.pipeline_issue(Problem::SecretInSpec {
                place: "the pipeline root".to_owned(),
                redacted: redact_secrets(root).into_owned(),
            });
        }
        if let Some(schedule) = &self.spec.schedule {
            for why in schedule.problems() {
                self.pipeline_issue(Problem::InvalidSchedule(why));
            }
        }
        let triggers = self.spec.data_triggers.clone();
        for trigger in &triggers {
            for why in trigger.problems() {
                self.pipeline_issue(Problem::InvalidTrigger(why));
            }
            match self.spec.nodes.iter().find(|node| node.id == trigger.node) {
                None => self.pipeline_issue(Problem::InvalidTrigger(format!(
                    "the data trigger watches node `{}`, which the pipeline does not have",
                    trigger.node
                ))),
                Some(node) if !node.inputs.is_empty() => {
                    self.pipeline_issue(Problem::InvalidTrigger(format!(
                        "the data trigger watches node `{}`, which reads other nodes' outputs; watch the node that ingests outside data (an example generator)",
                        trigger.node
                    )));
                }
                Some(_) => {}
            }
        }
    }

    fn parameters(&mut self) {
        let mut seen = BTreeSet::new();
        for parameter in &self.spec.parameters {
            if !is_valid_parameter_name(&parameter.name) {
                self.pipeline_issue(Problem::InvalidParameterName(parameter.name.clone()));
            }
            if !seen.insert(parameter.name.as_str()) {
                self.pipeline_issue(Problem::DuplicateParameter(parameter.name.clone()));
            }
            if let Some(default) = &parameter.default
                && !parameter.parameter_type.accepts(default)
            {
                self.pipeline_issue(Problem::BadParameterDefault {
                    name: parameter.name.clone(),
                    parameter_type: parameter.parameter_type,
                    value: redact_secrets(&default.to_string()).into_owned(),
                });
            }
            if let Some(Value::String(text)) = &parameter.default
                && holds_secret(text)
            {
                self.pipeline_issue(Problem::SecretInSpec {
                    place: format!("the default of parameter `{}`", parameter.name),
                    redacted: redact_secrets(text).into_owned(),
                });
            }
        }
    }

    fn node_ids(&mut self) {
        for (index, node) in self.spec.nodes.iter().enumerate() {
            if !is_valid_id(&node.id) {
                self.node_issue(&node.id, Problem::InvalidNodeId(node.id.clone()));
            }
            if self.index_of.contains_key(node.id.as_str()) {
                self.node_issue(&node.id, Problem::DuplicateNodeId(node.id.clone()));
            } else {
                self.index_of.insert(self.table.id(index), index);
            }
        }
    }

    /// The artifact type of `channel`'s output, or why it cannot be read; its producer, if
    /// there is one, is one the node being checked reads.
    fn output_type(&mut self, channel: &ChannelRef) -> Result<&'t str, String> {
        let Some(&producer) = self.index_of.get(channel.node.as_str()) else {
            return Err(format!("there is no node `{}`", channel.node));
        };
        self.producers.push(producer);
        match self.table.output_type(producer, &channel.output) {
            Some(artifact_type) => Ok(artifact_type),
            None => Err(format!(
                "node `{}` has no output `{}`",
                channel.node, channel.output
            )),
        }
    }

    /// Records the edges into node `index` from the nodes it reads — its inputs' and its
    /// condition's producers, each once, in the order of their ids — unless it is a duplicate,
    /// which has no place in the order.
    fn record_edges(&mut self, index: usize, node: &NodeSpec) {
        let mut producers = std::mem::take(&mut self.producers);
        if self.index_of.get(node.id.as_str()) == Some(&index) {
            producers.sort_unstable_by(|a, b| self.table.id(*a).cmp(self.table.id(*b)));
            producers.dedup();
            self.edges
                .extend(producers.iter().map(|&producer| (producer, index)));
        }
        producers.clear();
        self.producers = producers;
    }

    fn node(&mut self, node: &'a NodeSpec) {
        for problem in node.options.problems() {
            self.node_issue(&node.id, Problem::InvalidOption(problem));
        }
        for (name, output) in &node.outputs {
            if !is_valid_output_name(name) {
                self.node_issue(&node.id, Problem::InvalidOutputName(name.clone()));
            }
            if self
                .catalog
                .find_artifact_type(&output.artifact_type)
                .is_none()
            {
                self.node_issue(
                    &node.id,
                    Problem::UnknownArtifactType(format!(
                        "{} (output `{name}`)",
                        output.artifact_type
                    )),
                );
            }
        }
        self.edges(node);
        self.condition(node);
        if node.options.shards.is_some() && !matches!(node.task, TaskSpec::Component { .. }) {
            self.node_issue(
                &node.id,
                Problem::InvalidOption(
                    "only component nodes can be sharded, not resolvers or importers".to_owned(),
                ),
            );
        }
        match &node.task {
            TaskSpec::Component {
                kind,
                version,
                config,
            } => self.component(node, kind, *version, config),
            TaskSpec::Resolver { strategy } => self.resolver(node, strategy),
            TaskSpec::Importer {
                source_uri,
                properties,
                ..
            } => self.importer(node, source_uri, properties),
        }
    }

    fn edges(&mut self, node: &NodeSpec) {
        for (input, spec) in &node.inputs {
            if self
                .catalog
                .find_artifact_type(&spec.artifact_type)
                .is_none()
            {
                self.node_issue(
                    &node.id,
                    Problem::UnknownArtifactType(format!(
                        "{} (input `{input}`)",
                        spec.artifact_type
                    )),
                );
            }
            match self.output_type(&spec.channel) {
                Err(reason) => self.node_issue(
                    &node.id,
                    Problem::DanglingReference {
                        input: input.clone(),
                        channel: spec.channel.clone(),
                        reason,
                    },
                ),
                Ok(found) if found != spec.artifact_type => self.node_issue(
                    &node.id,
                    Problem::TypeMismatch {
                        input: input.clone(),
                        expected: spec.artifact_type.clone(),
                        found: found.to_owned(),
                        channel: spec.channel.clone(),
                    },
                ),
                Ok(_) => {}
            }
        }
    }

    fn condition(&mut self, node: &NodeSpec) {
        let Some(condition) = &node.options.when else {
            return;
        };
        for operand in condition.operands() {
            match operand {
                Operand::Parameter { name } => {
                    if self.spec.parameter(name).is_none() {
                        self.node_issue(
                            &node.id,
                            Problem::UnknownParameter {
                                name: name.clone(),
                                place: "the `when` condition".to_owned(),
                            },
                        );
                    }
                }
                Operand::ArtifactProperty {
                    channel,
                    property,
                    custom,
                } => match self.output_type(channel) {
                    Err(reason) => self.node_issue(
                        &node.id,
                        Problem::DanglingReference {
                            input: "when".to_owned(),
                            channel: channel.clone(),
                            reason,
                        },
                    ),
                    Ok(artifact_type) => {
                        let declared = self
                            .catalog
                            .find_artifact_type(artifact_type)
                            .is_none_or(|info| info.property(property).is_some());
                        if !custom && !declared {
                            self.node_issue(
                                &node.id,
                                Problem::InvalidCondition(format!(
                                    "{artifact_type} (`{channel}`) declares no property `{property}`; use a custom property if its producer sets one"
                                )),
                            );
                        }
                    }
                },
                Operand::Literal { .. } => {}
            }
        }
    }

    fn component(&mut self, node: &'a NodeSpec, kind: &'a str, version: u32, config: &'a Value) {
        if let Some(conflict) = self.catalog.find_conflict(kind) {
            self.node_issue(&node.id, Problem::RegistryConflict(conflict));
        }
        let catalog = self.catalog;
        let description = self
            .descriptions
            .entry(kind)
            .or_insert_with(|| catalog.find_component(kind).map(std::rc::Rc::new))
            .clone();
        let Some(description) = description else {
            for name in referenced_parameters(config) {
                if self.spec.parameter(&name).is_none() {
                    self.node_issue(&node.id, unknown_config_parameter(name));
                }
            }
            self.node_issue(&node.id, Problem::UnknownComponentKind(kind.to_owned()));
            return;
        };
        if description.version != version {
            self.node_issue(
                &node.id,
                Problem::ComponentVersionMismatch {
                    kind: kind.to_owned(),
                    spec: version,
                    registered: description.version,
                },
            );
        }
        if node.options.shards.is_some() && !description.shardable {
            self.node_issue(
                &node.id,
                Problem::InvalidOption(format!(
                    "component kind `{kind}` cannot be sharded: only components that merge \
                     their shards' outputs take `shards`"
                )),
            );
        }
        let interface = &description.interface;
        self.interface(node, kind, interface);

        let trial = match self.last_trial.get(kind) {
            Some((last_config, trial)) if *last_config == config => trial.clone(),
            _ => {
                let trial = self.try_configuration(kind, interface, config);
                self.last_trial.insert(kind, (config, trial.clone()));
                trial
            }
        };
        for problem in trial.problems {
            self.node_issue(&node.id, problem);
        }
        for (input, placeholder) in trial.placeholder_inputs {
            if interface.input(&input).is_some() && !node.inputs.contains_key(&input) {
                self.node_issue(
                    &node.id,
                    Problem::InvalidPlaceholder(format!(
                        "`{placeholder}`: input `{input}` is not connected"
                    )),
                );
            }
        }
    }

    /// Instantiates a configuration with trial parameter values; for a command component,
    /// checks its placeholders. Whether the inputs they read are connected depends on the node,
    /// so those are returned for a per-node check.
    fn try_configuration(
        &self,
        kind: &str,
        interface: &ComponentInterface,
        config: &Value,
    ) -> Trial {
        let trial_config = match substitute_parameters(config, &self.trial_values) {
            Ok(trial_config) => trial_config,
            Err(unknown) => {
                return Trial {
                    problems: unknown.into_iter().map(unknown_config_parameter).collect(),
                    placeholder_inputs: Vec::new(),
                };
            }
        };
        let command = match self.catalog.try_configuration(kind, trial_config) {
            Ok(TriedConfiguration::Command(command)) => command,
            Ok(TriedConfiguration::InProcess) => return Trial::default(),
            Err(why) => {
                return Trial {
                    problems: vec![Problem::InvalidConfig(why)],
                    placeholder_inputs: Vec::new(),
                };
            }
        };
        match command.placeholders() {
            Err(error) => Trial {
                problems: vec![Problem::InvalidPlaceholder(error.to_string())],
                placeholder_inputs: Vec::new(),
            },
            Ok(placeholders) => Trial {
                problems: self.placeholder_problems(interface, &placeholders),
                placeholder_inputs: placeholders
                    .iter()
                    .filter_map(|placeholder| match placeholder {
                        Placeholder::InputUri(name) | Placeholder::InputProperty(name, _) => {
                            Some((name.clone(), placeholder.to_string()))
                        }
                        _ => None,
                    })
                    .collect(),
            },
        }
    }

    /// A value of the right type for every parameter: its default, or a neutral value.
    fn trial_parameter_values(&self) -> BTreeMap<String, Value> {
        self.spec
            .parameters
            .iter()
            .map(|parameter| {
                let value = match &parameter.default {
                    Some(default) if parameter.parameter_type.accepts(default) => default.clone(),
                    _ => match parameter.parameter_type {
                        ParameterType::Int => Value::from(0),
                        ParameterType::Double => Value::from(0.0),
                        ParameterType::String => Value::from(""),
                        ParameterType::Bool => Value::from(false),
                        ParameterType::List => Value::Array(Vec::new()),
                        ParameterType::Struct => Value::Object(serde_json::Map::new()),
                    },
                };
                (parameter.name.clone(), value)
            })
            .collect()
    }

    fn interface(&mut self, node: &NodeSpec, kind: &str, interface: &ComponentInterface) {
        for declared in &interface.inputs {
            match node.inputs.get(declared.name) {
                None if !declared.optional => self.node_issue(
                    &node.id,
                    Problem::MissingRequiredInput {
                        input: declared.name.to_owned(),
                        artifact_type: declared.artifact_type.name.to_owned(),
                    },
                ),
                Some(spec) if spec.artifact_type != declared.artifact_type.name => self.node_issue(
                    &node.id,
                    Problem::TypeMismatch {
                        input: declared.name.to_owned(),
                        expected: declared.artifact_type.name.to_owned(),
                        found: spec.artifact_type.clone(),
                        channel: spec.channel.clone(),
                    },
                ),
                _ => {}
            }
        }
        for input in node.inputs.keys() {
            if interface.input(input).is_none() {
                let declared = interface
                    .inputs
                    .iter()
                    .map(|declared| declared.name)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.node_issue(
                    &node.id,
                    Problem::UnknownInput {
                        input: input.clone(),
                        kind: kind.to_owned(),
                        declared: if declared.is_empty() {
                            "none".to_owned()
                        } else {
                            declared
                        },
                    },
                );
            }
        }
        // A buffer kept from node to node: one allocation, not one a node.
        let mut declared_outputs = std::mem::take(&mut self.declared_outputs);
        declared_outputs.clear();
        declared_outputs.extend(
            interface
                .outputs
                .iter()
                .map(|output| (output.name, output.artifact_type.name)),
        );
        self.outputs(node, &declared_outputs);
        self.declared_outputs = declared_outputs;
    }

    fn outputs(&mut self, node: &NodeSpec, declared: &[(&str, &str)]) {
        for (name, artifact_type) in declared {
            match node.outputs.get(*name) {
                None => self.node_issue(
                    &node.id,
                    Problem::OutputMismatch {
                        output: (*name).to_owned(),
                        reason: format!("the component produces {artifact_type}, but the node does not declare it"),
                    },
                ),
                Some(spec) if spec.artifact_type != *artifact_type => self.node_issue(
                    &node.id,
                    Problem::OutputMismatch {
                        output: (*name).to_owned(),
                        reason: format!(
                            "declared as {}, but the component produces {artifact_type}",
                            spec.artifact_type
                        ),
                    },
                ),
                Some(_) => {}
            }
        }
        for name in node.outputs.keys() {
            if !declared.iter().any(|(declared, _)| declared == name) {
                self.node_issue(
                    &node.id,
                    Problem::OutputMismatch {
                        output: name.clone(),
                        reason: "the component produces no such output".to_owned(),
                    },
                );
            }
        }
    }

    fn placeholder_problems(
        &self,
        interface: &ComponentInterface,
        placeholders: &[Placeholder],
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for placeholder in placeholders {
            let problem = match &placeholder {
                Placeholder::InputUri(name) | Placeholder::InputProperty(name, _) => interface
                    .input(name)
                    .is_none()
                    .then(|| format!("`{placeholder}`: the component has no input `{name}`")),
                Placeholder::OutputUri(name) => interface
                    .output(name)
                    .is_none()
                    .then(|| format!("`{placeholder}`: the component has no output `{name}`")),
                Placeholder::Parameter(name) => self.spec.parameter(name).is_none().then(|| {
                    format!("`{placeholder}`: the pipeline declares no parameter `{name}`")
                }),
                Placeholder::RunId
                | Placeholder::NodeId
                | Placeholder::Pipeline
                | Placeholder::ExecutorOutput => None,
            };
            problems.extend(problem.map(Problem::InvalidPlaceholder));
        }
        problems
    }

    /// A model-alias resolver reads the registry: at most one input, `model` (the challenger,
    /// of type Model), one `model` output of type Model, a model and an alias named.
    fn model_alias_resolver(&mut self, node: &NodeSpec, model: &str, alias: &str) {
        let inputs_ok = node
            .inputs
            .iter()
            .all(|(name, input)| name == "model" && input.artifact_type == "Model");
        if !inputs_ok {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(
                    "the model_alias strategy takes at most one input, `model` (the challenger, a Model)"
                        .to_owned(),
                ),
            );
        }
        if model.trim().is_empty() || alias.trim().is_empty() {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(format!(
                    "the model_alias strategy needs a registered model and an alias (got `{model}@{alias}`)"
                )),
            );
        }
        let outputs: Vec<(&String, &str)> = node
            .outputs
            .iter()
            .map(|(name, output)| (name, output.artifact_type.as_str()))
            .collect();
        if outputs.len() != 1 || outputs[0].0 != "model" || outputs[0].1 != "Model" {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(
                    "the model_alias strategy has one output, `model`, of type Model".to_owned(),
                ),
            );
        }
    }

    fn resolver(&mut self, node: &NodeSpec, strategy: &ResolverStrategy) {
        if let ResolverStrategy::ModelAlias { model, alias } = strategy {
            return self.model_alias_resolver(node, model, alias);
        }
        let (source, output, fixed_type) = match strategy {
            ResolverStrategy::ModelAlias { .. } => return,
            ResolverStrategy::LatestArtifact => ("source", "artifact", None),
            ResolverStrategy::LatestBlessedModel => ("model", "model", Some("Model")),
            ResolverStrategy::SpanRange {
                min_span, max_span, ..
            } => {
                if let (Some(min), Some(max)) = (min_span, max_span)
                    && min > max
                {
                    self.node_issue(
                        &node.id,
                        Problem::InvalidResolver(format!("span range {min}..={max} is empty")),
                    );
                }
                ("examples", "examples", Some("Examples"))
            }
        };
        let names: Vec<&String> = node.inputs.keys().collect();
        if names != [source] {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(format!(
                    "the {} strategy takes exactly one source input, `{source}`",
                    strategy.name()
                )),
            );
        }
        let source_type = node
            .inputs
            .get(source)
            .map(|input| input.artifact_type.as_str());
        if let (Some(expected), Some(found)) = (fixed_type, source_type)
            && expected != found
        {
            self.node_issue(
                &node.id,
                Problem::InvalidResolver(format!(
                    "the {} strategy reads {expected}, not {found}",
                    strategy.name()
                )),
            );
        }
        if let Some(artifact_type) = fixed_type.or(source_type) {
            self.outputs(node, &[(output, artifact_type)]);
        }
    }

    fn importer(
        &mut self,
        node: &NodeSpec,
        source_uri: &str,
        properties: &BTreeMap<String, Value>,
    ) {
        if source_uri.trim().is_empty() {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter("the source URI is empty".to_owned()),
            );
        }
        if holds_secret(source_uri) {
            self.node_issue(
                &node.id,
                Problem::SecretInSpec {
                    place: "the importer's source URI".to_owned(),
                    redacted: redact_secrets(source_uri).into_owned(),
                },
            );
        }
        if !node.inputs.is_empty() {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter("an importer takes no inputs".to_owned()),
            );
        }
        let outputs: Vec<(&String, &OutputSpec)> = node.outputs.iter().collect();
        let [(name, output)] = outputs.as_slice() else {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter("an importer has exactly one output, `result`".to_owned()),
            );
            return;
        };
        if name.as_str() != "result" {
            self.node_issue(
                &node.id,
                Problem::InvalidImporter(format!(
                    "the importer's output is called `result`, not `{name}`"
                )),
            );
        }
        let Some(info) = self.catalog.find_artifact_type(&output.artifact_type) else {
            return; // reported with the outputs
        };
        for (property, value) in properties {
            match info.property(property) {
                None => self.node_issue(
                    &node.id,
                    Problem::InvalidImporter(format!(
                        "{} declares no property `{property}`; use a custom property",
                        info.name
                    )),
                ),
                Some(spec) if !spec.property_type.accepts(value) => self.node_issue(
                    &node.id,
                    Problem::InvalidImporter(format!(
                        "property `{property}` of {} is {:?}, not {value}",
                        info.name, spec.property_type
                    )),
                ),
                Some(_) => {}
            }
        }
    }

    fn exit_handler(&mut self) {
        let Some(handler) = &self.spec.exit_handler else {
            return;
        };
        if !self.index_of.contains_key(handler.as_str()) {
            self.pipeline_issue(Problem::InvalidExitHandler(format!(
                "there is no node `{handler}`"
            )));
            return;
        }
        for node in &self.spec.nodes {
            let depends_on_handler = node.upstream_node_ids().contains(&handler.as_str())
                || node
                    .inputs
                    .values()
                    .any(|input| input.channel.node == *handler);
            if node.id != *handler && depends_on_handler {
                self.node_issue(
                    &node.id,
                    Problem::InvalidExitHandler(format!(
                        "reads the exit handler `{handler}`, which runs after every other node"
                    )),
                );
            }
        }
    }

    /// A topological order, or a `Cycle` issue for every strongly connected component.
    fn order(&mut self) -> Vec<usize> {
        let mut graph =
            DiGraph::<usize, ()>::with_capacity(self.spec.nodes.len(), self.edges.len());
        let indices: Vec<NodeIndex> = (0..self.spec.nodes.len())
            .map(|index| graph.add_node(index))
            .collect();
        // The edges of the nodes' upstream nodes (duplicates have none), recorded as the nodes
        // were checked.
        for &(producer, consumer) in &self.edges {
            graph.add_edge(indices[producer], indices[consumer], ());
        }
        match insertion_ordered_toposort(&graph) {
            Some(order) => order,
            None => {
                for component in petgraph::algo::tarjan_scc(&graph) {
                    let is_cycle = component.len() > 1
                        || component
                            .first()
                            .is_some_and(|&index| graph.contains_edge(index, index));
                    if is_cycle {
                        let mut ids: Vec<String> = component
                            .iter()
                            .map(|&index| self.spec.nodes[graph[index]].id.clone())
                            .collect();
                        ids.sort();
                        self.issues.push(ValidationIssue {
                            node: ids.first().cloned(),
                            problem: Problem::Cycle(ids),
                        });
                    }
                }
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{holds_secret, is_valid_output_name, redact_secrets};
    use proptest::prelude::*;

    #[test]
    fn a_postgresql_urls_password_is_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_secrets("postgresql://user:s3cret@host/db"),
            "postgresql://user:***@host/db"
        );
        assert_eq!(
            redact_secrets("connecting to postgres://u:p%40ss@h:5432/db?sslmode=require failed"),
            "connecting to postgres://u:***@h:5432/db?sslmode=require failed"
        );
        // What PostgreSQL's clients read as the password, even with a raw `/` or `@` in it.
        assert_eq!(
            redact_secrets("postgres://u:p/ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_secrets("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn every_url_in_a_text_is_redacted() {
        assert_eq!(
            redact_secrets("a postgres://a:one@h/d and s3://b/k, then \"https://x:two@web/p\""),
            "a postgres://a:***@h/d and s3://b/k, then \"https://x:***@web/p\""
        );
    }

    #[test]
    fn secret_parameters_are_redacted_in_queries_and_connection_strings() {
        assert_eq!(
            redact_secrets("postgres://h/db?user=u&password=s3cret&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(
            redact_secrets("host=h password=\"two words\" dbname=d"),
            "host=h password=\"***\" dbname=d"
        );
        assert_eq!(
            redact_secrets("AWS_SECRET_ACCESS_KEY=abc/def AWS_REGION=eu-west-1"),
            "AWS_SECRET_ACCESS_KEY=*** AWS_REGION=eu-west-1"
        );
        assert_eq!(
            redact_secrets("https://acct.blob.core.windows.net/c/k?sv=2022&sig=AbC%2B&se=1"),
            "https://acct.blob.core.windows.net/c/k?sv=2022&sig=***&se=1"
        );
        assert_eq!(
            redact_secrets("MLFLOW_TRACKING_PASSWORD=x MILLRACE_UI_TOKEN=y"),
            "MLFLOW_TRACKING_PASSWORD=*** MILLRACE_UI_TOKEN=***"
        );
    }

    #[test]
    fn text_without_credentials_is_returned_as_it_is() {
        for text in [
            "s3://bucket/prefix/taxi/trainer/model/7",
            "abfs://container@account.dfs.core.windows.net/path",
            "sqlite://.millrace/metadata.sqlite?journal=wal",
            "postgres://mlmd@db:5432/mlmd",
            "http://127.0.0.1:5000/#/experiments",
            "cache_key=abc123 node_id=trainer",
            // Found by the property below: a key or scheme after a multi-byte character.
            "🟠=",
            "é://x",
            "",
        ] {
            assert!(
                matches!(redact_secrets(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
            assert!(!holds_secret(text), "{text}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let once = redact_secrets("postgresql://user:s3cret@host/db?password=x").into_owned();
        assert_eq!(redact_secrets(&once), once);
        assert!(!holds_secret(&once));
    }

    #[test]
    fn output_names_are_single_path_segments() {
        for good in [
            "model",
            "examples",
            "pre_transform_stats",
            "_private",
            "out-1",
        ] {
            assert!(is_valid_output_name(good), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/abs",
            "a\0b",
            "a.b",
            "1st",
            &"x".repeat(64),
        ] {
            assert!(!is_valid_output_name(bad), "{bad:?}");
        }
    }

    /// A catalog that knows the artifact type `Examples` and no component.
    struct ExamplesOnly;

    impl crate::spec::Catalog for ExamplesOnly {
        fn find_artifact_type(
            &self,
            name: &str,
        ) -> Option<crate::spec::artifact_type::ArtifactTypeInfo> {
            (name == "Examples").then_some(crate::spec::artifact_type::ArtifactTypeInfo {
                name: "Examples",
                properties: &[],
                base_type: None,
            })
        }
        fn find_component(&self, _: &str) -> Option<crate::spec::KindDescription> {
            None
        }
        fn find_conflict(&self, _: &str) -> Option<String> {
            None
        }
        fn try_configuration(
            &self,
            kind: &str,
            _: serde_json::Value,
        ) -> Result<crate::spec::TriedConfiguration, String> {
            Err(format!("no component `{kind}`"))
        }
    }

    /// A spec with one importer node of source `source` and outputs `outputs`.
    fn importer_spec(root: &str, source: &str, outputs: &[&str]) -> crate::spec::PipelineSpec {
        let mut spec = crate::spec::PipelineSpec::new("leaky");
        spec.root = Some(root.to_owned());
        spec.nodes.push(crate::spec::NodeSpec {
            id: "rows".to_owned(),
            task: crate::spec::TaskSpec::Importer {
                source_uri: source.to_owned(),
                reimport: false,
                properties: std::collections::BTreeMap::new(),
                custom_properties: std::collections::BTreeMap::new(),
            },
            inputs: std::collections::BTreeMap::new(),
            outputs: outputs
                .iter()
                .map(|name| {
                    let output = crate::spec::OutputSpec {
                        artifact_type: "Examples".to_owned(),
                    };
                    ((*name).to_owned(), output)
                })
                .collect(),
            options: crate::spec::NodeOptions::default(),
        });
        spec
    }

    fn problems(spec: &crate::spec::PipelineSpec) -> Vec<super::Problem> {
        match super::validate(spec, &ExamplesOnly) {
            Ok(_) => Vec::new(),
            Err(issues) => issues.into_iter().map(|issue| issue.problem).collect(),
        }
    }

    #[test]
    fn a_spec_holding_a_credential_is_invalid_and_its_problems_do_not_repeat_it() {
        let spec = importer_spec(
            "s3://AKIA:s3cret@bucket/root",
            "postgresql://u:s3cret@db/rows",
            &["result"],
        );
        let found = problems(&spec);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        let text = text.join("\n");
        assert!(
            text.contains("the pipeline root holds a credential"),
            "{text}"
        );
        assert!(
            text.contains("the importer's source URI holds a credential"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
        let clean = importer_spec("s3://bucket/root", "postgresql://u@db/rows", &["result"]);
        assert_eq!(problems(&clean), Vec::new());
    }

    #[test]
    fn an_output_name_that_is_not_one_path_segment_is_invalid() {
        let spec = importer_spec("/srv/root", "data/rows.csv", &["result", "../up"]);
        assert!(
            problems(&spec).contains(&super::Problem::InvalidOutputName("../up".to_owned())),
            "{:?}",
            problems(&spec)
        );
    }

    proptest! {
        #[test]
        fn a_password_never_survives_redaction(
            password in "[A-Za-z0-9!$&()*+,;=._~%-]{1,24}",
            scheme in prop::sample::select(vec!["postgres", "postgresql", "https", "redis"]),
            prefix in "\\PC{0,20}",
        ) {
            let secret = format!("SeCrEt{password}");
            let text = format!("{prefix} {scheme}://user:{secret}@host:5432/db tail");
            prop_assert!(!redact_secrets(&text).contains(&secret));
            let text = format!("{prefix} host=h password={secret} dbname=d");
            prop_assert!(!redact_secrets(&text).contains(&secret));
        }

        #[test]
        fn any_text_is_redacted_without_a_panic(text in "\\PC{0,120}") {
            let redacted = redact_secrets(&text);
            prop_assert_eq!(redact_secrets(&redacted), redacted.clone());
        }
    }
}
