use super::*;
use crate::sql::{Backend, SqlTx};
use crate::sqlite::SqliteBackend;

const SCHEMA: &[&str] = &[
    "CREATE TABLE \"millrace_run\"(\"run_id\" TEXT PRIMARY KEY, \"name\" TEXT, \"user_id\" TEXT, \"status\" TEXT, \"start_time\" BIGINT, \"end_time\" BIGINT NULL, \"artifact_uri\" TEXT)",
    "CREATE TABLE \"millrace_run_param\"(\"run_id\" TEXT, \"key\" TEXT, \"value\" TEXT, PRIMARY KEY(\"run_id\", \"key\"))",
    "CREATE TABLE \"millrace_run_tag\"(\"run_id\" TEXT, \"key\" TEXT, \"value\" TEXT, PRIMARY KEY(\"run_id\", \"key\"))",
    "CREATE TABLE \"millrace_latest_metric\"(\"run_id\" TEXT, \"key\" TEXT, \"value\" DOUBLE PRECISION, \"timestamp\" BIGINT, \"step\" BIGINT, \"is_nan\" BOOLEAN, PRIMARY KEY(\"run_id\", \"key\"))",
    "CREATE TABLE \"millrace_registered_model\"(\"name\" TEXT PRIMARY KEY, \"creation_time\" BIGINT, \"last_updated_time\" BIGINT)",
    "CREATE TABLE \"millrace_registered_model_tag\"(\"name\" TEXT, \"key\" TEXT, \"value\" TEXT)",
    "CREATE TABLE \"millrace_model_version\"(\"name\" TEXT, \"version\" INTEGER, \"run_id\" TEXT, \"source\" TEXT, \"creation_time\" BIGINT, \"last_updated_time\" BIGINT, PRIMARY KEY(\"name\", \"version\"))",
    "CREATE TABLE \"millrace_model_version_tag\"(\"name\" TEXT, \"version\" INTEGER, \"key\" TEXT, \"value\" TEXT)",
];

/// A run row: (run_id, name, user, status, start, end).
type RunRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<i64>,
);

/// Runs a, b, c, d.
const RUNS: &[RunRow] = &[
    ("a", "Alpha", "ann", "FINISHED", 100, Some(150)),
    ("b", "beta", "bob", "RUNNING", 300, None),
    ("c", "gamma's", "ann", "FAILED", 200, Some(250)),
    ("d", "Delta_1*", "eve", "FINISHED", 300, Some(400)),
];

/// (run_id, key, value, is_nan)
const METRICS: &[(&str, &str, f64, bool)] = &[
    ("a", "loss", 0.5, false),
    ("b", "loss", 0.0, true),
    ("c", "loss", 0.2, false),
    ("a", "Evaluator.rmse", 1.5, false),
    ("d", "Evaluator.rmse", 3.0, false),
];

const PARAMS: &[(&str, &str, &str)] = &[
    ("a", "model", "GBT"),
    ("b", "model", "gbt-large"),
    ("c", "model", "it's linear"),
    ("a", "lr", "0.1"),
    ("c", "lr", "0.01"),
];

const TAGS: &[(&str, &str, &str)] = &[
    ("a", "team", "vision"),
    ("b", "team", "nlp"),
    ("d", "mlflow.source.type", "PROJECT"),
];

fn backend() -> SqliteBackend {
    let backend = SqliteBackend::in_memory().unwrap_or_else(|e| panic!("{e}"));
    let result = backend.transaction(true, &mut |tx: &mut dyn SqlTx| {
        // The store made its own tables when it opened; these narrower ones hold only the
        // columns the filters read, so the rows below stay short.
        for table in [
            "millrace_run",
            "millrace_run_param",
            "millrace_run_tag",
            "millrace_latest_metric",
            "millrace_registered_model",
            "millrace_registered_model_tag",
            "millrace_model_version",
            "millrace_model_version_tag",
        ] {
            tx.execute(&format!("DROP TABLE IF EXISTS \"{table}\""), &[])?;
        }
        for statement in SCHEMA {
            tx.execute(statement, &[])?;
        }
        for (id, name, user, status, start, end) in RUNS {
            tx.execute(
                "INSERT INTO \"millrace_run\" VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    (*id).into(),
                    (*name).into(),
                    (*user).into(),
                    (*status).into(),
                    SqlValue::Int(*start),
                    end.map_or(SqlValue::Null, SqlValue::Int),
                    format!("s3://bucket/{id}").as_str().into(),
                ],
            )?;
        }
        for (id, key, value, is_nan) in METRICS {
            tx.execute(
                "INSERT INTO \"millrace_latest_metric\" VALUES ($1, $2, $3, 0, 0, $4)",
                &[
                    (*id).into(),
                    (*key).into(),
                    SqlValue::Double(*value),
                    SqlValue::Bool(*is_nan),
                ],
            )?;
        }
        for (table, rows) in [("millrace_run_param", PARAMS), ("millrace_run_tag", TAGS)] {
            for (id, key, value) in rows {
                tx.execute(
                    &format!("INSERT INTO \"{table}\" VALUES ($1, $2, $3)"),
                    &[(*id).into(), (*key).into(), (*value).into()],
                )?;
            }
        }
        for statement in [
            "INSERT INTO \"millrace_registered_model\" VALUES ('taxi', 1, 5), ('Taxi-big', 2, 3), ('prompt', 3, 4)",
            "INSERT INTO \"millrace_registered_model_tag\" VALUES ('prompt', 'mlflow.prompt.is_prompt', 'true')",
            "INSERT INTO \"millrace_model_version\" VALUES ('taxi', 1, 'a', 's3://m/1', 1, 1), ('taxi', 2, 'b', 's3://m/2', 2, 2), ('prompt', 1, NULL, 'p', 3, 3)",
            "INSERT INTO \"millrace_model_version_tag\" VALUES ('taxi', 2, 'stage', 'prod')",
        ] {
            tx.execute(statement, &[])?;
        }
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("{e}"));
    backend
}

fn texts(backend: &SqliteBackend, sql: &str, params: &[SqlValue]) -> Vec<String> {
    let mut found = Vec::new();
    let result = backend.transaction(false, &mut |tx: &mut dyn SqlTx| {
        found = tx
            .query(sql, params)?
            .into_iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.text().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        Ok(())
    });
    result.unwrap_or_else(|e| panic!("{sql}: {e}"));
    found
}

/// The run ids the filter selects, in run id order; the first parameter is bound to a decoy
/// so numbering from an index other than 1 is exercised.
fn matching(backend: &SqliteBackend, filter: &str) -> Vec<String> {
    let filter = RunFilter::parse(filter).unwrap_or_else(|e| panic!("{e}"));
    let condition = filter.to_sql(Dialect::Sqlite, 2);
    let mut params = vec![SqlValue::Text("decoy".into())];
    params.extend(condition.params);
    let sql = format!(
        "SELECT r.\"run_id\" FROM \"millrace_run\" r WHERE r.\"run_id\" <> $1 AND {} ORDER BY r.\"run_id\"",
        condition.sql
    );
    texts(backend, &sql, &params)
}

fn ordered(backend: &SqliteBackend, keys: &[&str]) -> Vec<String> {
    let keys: Vec<OrderKey> = keys
        .iter()
        .map(|key| OrderKey::parse(key).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let order = order_by_sql(&keys, Dialect::Sqlite, 1);
    let sql = format!(
        "SELECT r.\"run_id\" FROM \"millrace_run\" r ORDER BY {}",
        order.sql
    );
    texts(backend, &sql, &order.params)
}

#[test]
fn compiled_run_filters_select_the_runs_mlflow_would() {
    let backend = backend();
    let cases: &[(&str, &[&str])] = &[
        ("", &["a", "b", "c", "d"]),
        ("metrics.loss < 0.4", &["c"]),
        ("metrics.loss >= 0", &["a", "c"]),
        ("metrics.loss = 0", &[]),
        ("metrics.loss != 0.5", &["b", "c"]),
        ("metrics.`Evaluator.rmse` > 2", &["d"]),
        ("metrics.\"Evaluator.rmse\" <= 1.5e0", &["a"]),
        ("params.model = 'GBT'", &["a"]),
        ("params.model LIKE 'g%'", &["b"]),
        ("params.model ILIKE 'g%'", &["a", "b"]),
        ("params.model = \"it's linear\"", &["c"]),
        ("params.model LIKE \"it's%\"", &["c"]),
        ("params.model != 'GBT'", &["b", "c"]),
        ("params.lr IS NULL", &["b", "d"]),
        ("params.lr IS NOT NULL AND params.model ILIKE '%T'", &["a"]),
        ("tags.`mlflow.source.type` = 'PROJECT'", &["d"]),
        ("tags.team IS NULL", &["c", "d"]),
        ("run_id IN ('a', 'c', 'zz')", &["a", "c"]),
        ("run_id NOT IN ('a')", &["b", "c", "d"]),
        ("status = 'FINISHED' and user_id = 'ann'", &["a"]),
        ("run_name LIKE '%a'", &["a", "b"]),
        ("run_name LIKE 'a%'", &[]),
        ("run_name ILIKE 'a%'", &["a"]),
        ("`Run name` ILIKE 'ALPHA'", &["a"]),
        ("run_name LIKE 'Delta_1*'", &["d"]),
        ("run_name LIKE 'Delta?1%'", &[]),
        ("attributes.start_time >= 200 AND end_time < 300", &["c"]),
        ("created > 150.5", &["b", "c", "d"]),
        ("end_time > 0", &["a", "c", "d"]),
        ("artifact_uri = 's3://bucket/b'", &["b"]),
        ("params.model = \"x' OR 1=1 --\"", &[]),
    ];
    for (filter, expected) in cases {
        assert_eq!(matching(&backend, filter), *expected, "{filter}");
    }
}

#[test]
fn keys_and_values_reach_the_database_only_as_parameters() {
    let filter = RunFilter::parse("params.`x' OR '1'='1` = \"' OR 1=1 --\"")
        .unwrap_or_else(|e| panic!("{e}"));
    let condition = filter.to_sql(Dialect::Postgres, 1);
    assert!(!condition.sql.contains("OR"), "{}", condition.sql);
    assert_eq!(
        condition.params,
        vec![
            SqlValue::Text("x' OR '1'='1".into()),
            SqlValue::Text("' OR 1=1 --".into())
        ]
    );
}

#[test]
fn an_empty_filter_compiles_to_a_condition_that_always_holds() {
    let condition = RunFilter::default().to_sql(Dialect::Postgres, 3);
    assert_eq!(condition.sql, "1 = 1");
    assert!(condition.params.is_empty());
}

#[test]
fn postgres_likes_switch_off_the_escape_character() {
    let filter = RunFilter::parse("params.a LIKE 'x%' AND params.b ILIKE 'y'")
        .unwrap_or_else(|e| panic!("{e}"));
    let sql = filter.to_sql(Dialect::Postgres, 1).sql;
    assert!(sql.contains("t.\"value\" LIKE $2 ESCAPE ''"), "{sql}");
    assert!(sql.contains("t.\"value\" ILIKE $4 ESCAPE ''"), "{sql}");
}

#[test]
fn orderings_put_missing_keys_last_in_both_directions() {
    let backend = backend();
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["b", "d", "c", "a"]),
        (&["metrics.loss"], &["c", "a", "b", "d"]),
        (&["metrics.loss DESC"], &["a", "c", "b", "d"]),
        (&["metrics.`Evaluator.rmse` DESC"], &["d", "a", "b", "c"]),
        (&["params.lr ASC"], &["c", "a", "b", "d"]),
        (&["params.lr DESC"], &["a", "c", "b", "d"]),
        (&["tags.team"], &["b", "a", "d", "c"]),
        (&["attributes.start_time DESC"], &["b", "d", "c", "a"]),
        (&["end_time"], &["a", "c", "d", "b"]),
        (&["end_time DESC"], &["d", "c", "a", "b"]),
        (&["user_id", "run_name DESC"], &["c", "a", "b", "d"]),
    ];
    for (keys, expected) in cases {
        assert_eq!(ordered(&backend, keys), *expected, "{keys:?}");
    }
}

#[test]
fn compiled_registry_filters_select_model_versions_and_registered_models() {
    let backend = backend();
    let versions = |filter: &str, order: &[&str]| {
        let filter = ModelVersionFilter::parse(filter).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<OrderKey<ModelVersionEntity>> = order
            .iter()
            .map(|key| OrderKey::parse(key).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let condition = filter.to_sql(Dialect::Sqlite, 1);
        let order = model_version_order_by_sql(&keys, Dialect::Sqlite, 1 + condition.params.len());
        let mut params = condition.params;
        params.extend(order.params);
        let sql = format!(
            "SELECT mv.\"name\", mv.\"version\" FROM \"millrace_model_version\" mv WHERE {} ORDER BY {}",
            condition.sql, order.sql
        );
        let found: Vec<String> = texts(&backend, &sql, &params);
        found
    };
    // Versions are integers, which `text()` does not read: only names come back non-empty.
    assert_eq!(versions("name = 'taxi'", &[]).len(), 2);
    assert_eq!(
        versions("name = 'taxi' AND version_number > 1", &[]).len(),
        1
    );
    assert_eq!(versions("tags.stage = 'prod'", &[]).len(), 1);
    assert_eq!(versions("run_id IN ('a', 'b')", &[]).len(), 2);
    assert_eq!(versions("source_path LIKE 's3://%'", &[]).len(), 2);
    assert_eq!(
        versions("", &["creation_timestamp DESC"]),
        vec!["prompt/", "taxi/", "taxi/"]
    );

    let models = |filter: &str, order: &[&str]| {
        let filter = RegisteredModelFilter::parse(filter).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<OrderKey<RegisteredModelEntity>> = order
            .iter()
            .map(|key| OrderKey::parse(key).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let condition = filter.to_sql(Dialect::Sqlite, 1);
        let order =
            registered_model_order_by_sql(&keys, Dialect::Sqlite, 1 + condition.params.len());
        let mut params = condition.params;
        params.extend(order.params);
        let sql = format!(
            "SELECT rm.\"name\" FROM \"millrace_registered_model\" rm WHERE {} ORDER BY {}",
            condition.sql, order.sql
        );
        texts(&backend, &sql, &params)
    };
    assert_eq!(models("name LIKE 'taxi%'", &[]), vec!["taxi"]);
    assert_eq!(models("name ILIKE 'taxi%'", &[]), vec!["Taxi-big", "taxi"]);
    assert_eq!(
        models("tag.`mlflow.prompt.is_prompt` != 'true'", &[]),
        vec!["Taxi-big", "taxi"]
    );
    assert_eq!(models("", &[]), vec!["Taxi-big", "taxi"]);
    assert_eq!(
        models("tags.`mlflow.prompt.is_prompt` = 'TRUE'", &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        models("tags.`mlflow.prompt.is_prompt` = 'true'", &[]),
        vec!["prompt"]
    );
    assert_eq!(
        models("", &["last_updated_timestamp DESC"]),
        vec!["taxi", "Taxi-big"]
    );
}
