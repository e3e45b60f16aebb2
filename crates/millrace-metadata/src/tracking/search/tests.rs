use super::*;
use proptest::prelude::*;

fn run(text: &str) -> Vec<Clause> {
    match RunFilter::parse(text) {
        Ok(filter) => filter.clauses,
        Err(error) => panic!("`{text}` should parse: {error}"),
    }
}

fn one(text: &str) -> Clause {
    let mut clauses = run(text);
    assert_eq!(clauses.len(), 1, "{text}");
    clauses.remove(0)
}

fn rejection(text: &str) -> (usize, String) {
    match RunFilter::parse(text) {
        Err(MetadataError::InvalidFilter {
            position, reason, ..
        }) => (position, reason),
        other => panic!("`{text}` should be rejected, got {other:?}"),
    }
}

#[test]
fn an_empty_or_blank_filter_has_no_clauses() {
    assert!(run("").is_empty());
    assert!(run("   ").is_empty());
}

#[test]
fn every_entity_prefix_and_its_aliases_resolve() {
    for prefix in ["metric", "metrics"] {
        assert_eq!(
            one(&format!("{prefix}.loss < 1")).entity,
            Entity::Metric("loss".into())
        );
    }
    for prefix in ["param", "params", "parameter", "parameters"] {
        assert_eq!(
            one(&format!("{prefix}.lr = '0.1'")).entity,
            Entity::Param("lr".into())
        );
    }
    for prefix in ["tag", "tags"] {
        assert_eq!(
            one(&format!("{prefix}.team = 'a'")).entity,
            Entity::Tag("team".into())
        );
    }
    for prefix in ["attribute", "attributes", "attr", "run"] {
        assert_eq!(
            one(&format!("{prefix}.status = 'FINISHED'")).entity,
            Entity::Attribute(RunAttribute::Status)
        );
    }
}

#[test]
fn bare_names_are_run_attributes_with_mlflow_aliases() {
    let cases = [
        ("run_id = 'a'", RunAttribute::RunId),
        ("run_name = 'a'", RunAttribute::RunName),
        ("`Run name` = 'a'", RunAttribute::RunName),
        ("attributes.`Run Name` = 'a'", RunAttribute::RunName),
        ("status = 'a'", RunAttribute::Status),
        ("start_time > 1", RunAttribute::StartTime),
        ("created > 1", RunAttribute::StartTime),
        ("Created > 1", RunAttribute::StartTime),
        ("end_time > 1", RunAttribute::EndTime),
        ("user_id = 'a'", RunAttribute::UserId),
        ("artifact_uri = 'a'", RunAttribute::ArtifactUri),
    ];
    for (text, attribute) in cases {
        assert_eq!(one(text).entity, Entity::Attribute(attribute), "{text}");
    }
}

#[test]
fn backticked_and_double_quoted_keys_keep_dots_and_spaces() {
    assert_eq!(
        one("metrics.`Evaluator.rmse` <= 2").entity,
        Entity::Metric("Evaluator.rmse".into())
    );
    assert_eq!(
        one("tags.\"my tag\" = 'x'").entity,
        Entity::Tag("my tag".into())
    );
    assert_eq!(
        one("tag.`mlflow.prompt.is_prompt` != 'true'").entity,
        Entity::Tag("mlflow.prompt.is_prompt".into())
    );
    assert_eq!(one("params.a.b = 'x'").entity, Entity::Param("a.b".into()));
    assert_eq!(
        one("`metrics`.loss = 1").entity,
        Entity::Metric("loss".into())
    );
}

#[test]
fn every_comparator_is_read_in_any_case() {
    let cases = [
        ("metrics.a = 1", Comparator::Eq),
        ("metrics.a != 1", Comparator::Ne),
        ("metrics.a > 1", Comparator::Gt),
        ("metrics.a >= 1", Comparator::Ge),
        ("metrics.a < 1", Comparator::Lt),
        ("metrics.a <= 1", Comparator::Le),
        ("params.a LIKE 'x%'", Comparator::Like),
        ("params.a like 'x%'", Comparator::Like),
        ("params.a ILike 'x%'", Comparator::ILike),
        ("run_id IN ('a')", Comparator::In),
        ("run_id not in ('a')", Comparator::NotIn),
        ("tags.a IS NULL", Comparator::IsNull),
        ("tags.a is not null", Comparator::IsNotNull),
    ];
    for (text, comparator) in cases {
        assert_eq!(one(text).comparator, comparator, "{text}");
    }
}

#[test]
fn numbers_may_be_negative_fractional_or_exponential() {
    let cases = [
        ("metrics.a > -3", -3.0),
        ("metrics.a > 2.5", 2.5),
        ("metrics.a > .5", 0.5),
        ("metrics.a > 1e-3", 0.001),
        ("metrics.a > -2.5E+2", -250.0),
        ("start_time>=1700000000000", 1_700_000_000_000.0),
    ];
    for (text, number) in cases {
        assert_eq!(one(text).operand, Operand::Number(number), "{text}");
    }
}

#[test]
fn strings_take_single_or_double_quotes_and_keep_the_other_quote() {
    assert_eq!(one("params.a = 'x y'").operand, Operand::Text("x y".into()));
    assert_eq!(
        one("params.a = \"it's\"").operand,
        Operand::Text("it's".into())
    );
    assert_eq!(one("params.a = ''").operand, Operand::Text(String::new()));
    assert_eq!(
        one("run_id IN ('a', \"b\" ,'c')").operand,
        Operand::List(vec!["a".into(), "b".into(), "c".into()])
    );
}

#[test]
fn clauses_are_joined_by_and_in_any_case() {
    let clauses = run("metrics.a > 1 AND params.b = 'x' and tags.c != 'y' And status = 'RUNNING'");
    assert_eq!(clauses.len(), 4);
}

#[test]
fn or_is_refused_with_a_message_that_mlflow_has_no_or() {
    let (position, reason) = rejection("metrics.a > 1 OR metrics.b > 1");
    assert_eq!(position, 14);
    assert!(reason.contains("no OR"), "{reason}");
}

#[test]
fn metrics_accept_only_numeric_comparators_and_numbers() {
    let (position, reason) = rejection("metrics.a LIKE 'x'");
    assert_eq!(position, 10);
    assert!(reason.contains("= != > >= < <="), "{reason}");
    let (position, reason) = rejection("metrics.a = 'x'");
    assert_eq!(position, 12);
    assert!(reason.contains("number"), "{reason}");
}

#[test]
fn params_and_tags_accept_strings_but_not_order_comparisons() {
    let (_, reason) = rejection("params.a > '1'");
    assert!(reason.contains("LIKE ILIKE"), "{reason}");
    let (position, reason) = rejection("params.a = 1");
    assert_eq!(position, 11);
    assert!(reason.contains("quotes"), "{reason}");
}

#[test]
fn only_run_id_accepts_in_lists() {
    let (position, reason) = rejection("status IN ('a')");
    assert_eq!(position, 7);
    assert!(reason.contains("allows"), "{reason}");
    let (_, reason) = rejection("run_id IN 'a'");
    assert!(reason.contains("list"), "{reason}");
    let (_, reason) = rejection("run_id IN ()");
    assert!(reason.contains("empty"), "{reason}");
    let (_, reason) = rejection("run_id = ('a')");
    assert!(reason.contains("quotes"), "{reason}");
}

#[test]
fn numeric_attributes_need_numbers() {
    let (_, reason) = rejection("start_time > '5'");
    assert!(reason.contains("numeric"), "{reason}");
    let (_, reason) = rejection("end_time LIKE '5'");
    assert!(reason.contains("allows"), "{reason}");
}

#[test]
fn unknown_entities_and_attributes_are_named_with_the_valid_ones() {
    let (position, reason) = rejection("foo.a = 'x'");
    assert_eq!(position, 0);
    assert!(reason.contains("metrics."), "{reason}");
    let (_, reason) = rejection("colour = 'x'");
    assert!(reason.contains("run_id, run_name"), "{reason}");
    let (_, reason) = rejection("Metrics.a = 1");
    assert!(reason.contains("not an entity"), "{reason}");
}

#[test]
fn malformed_text_is_refused_at_the_place_it_goes_wrong() {
    let cases = [
        ("metrics.a", 9, "comparator"),
        ("metrics.a >", 11, "value"),
        ("metrics.a > 1 metrics.b > 1", 14, "AND"),
        ("params.a = 'x", 11, "never closed"),
        ("metrics.`a = 1", 8, "never closed"),
        ("metrics. = 1", 8, "missing"),
        ("= 1", 0, "key"),
        ("metrics.a == 1", 10, "comparator"),
        ("metrics.a > 1abc", 12, "number"),
        ("metrics.a > 1 AND", 17, "key"),
        ("run_id IN ('a'", 10, "never closed"),
        ("tags.a IS 'x'", 7, "NULL"),
        ("tags.a NOT LIKE 'x'", 7, "IN"),
    ];
    for (text, expected_position, word) in cases {
        let (position, reason) = rejection(text);
        assert_eq!(position, expected_position, "{text}: {reason}");
        assert!(reason.contains(word), "{text}: {reason}");
    }
}

#[test]
fn the_error_message_quotes_the_filter_and_the_position() {
    let error = RunFilter::parse("metrics.a ~ 1")
        .err()
        .map(|e| e.to_string());
    let message = error.unwrap_or_default();
    assert!(message.contains("`metrics.a ~ 1` at byte 10"), "{message}");
}

#[test]
fn order_keys_default_to_ascending() {
    let key: OrderKey = OrderKey::parse("metrics.loss").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        key,
        OrderKey {
            entity: Entity::Metric("loss".into()),
            ascending: true
        }
    );
    let key: OrderKey =
        OrderKey::parse(" attributes.start_time  desc ").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        key,
        OrderKey {
            entity: Entity::Attribute(RunAttribute::StartTime),
            ascending: false
        }
    );
    let key: OrderKey = OrderKey::parse("params.`a b` ASC").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.entity, Entity::Param("a b".into()));
    let key: OrderKey = OrderKey::parse("tags.x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.entity, Entity::Tag("x".into()));
}

#[test]
fn order_keys_refuse_unknown_keys_and_trailing_words() {
    match OrderKey::<Entity>::parse("metrics.loss UP") {
        Err(MetadataError::InvalidOrderBy {
            position, reason, ..
        }) => {
            assert_eq!(position, 13);
            assert!(reason.contains("ASC, DESC"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(OrderKey::<Entity>::parse("colour").is_err());
}

#[test]
fn model_version_filters_take_their_attributes_and_tags() {
    let filter = ModelVersionFilter::parse(
        "name = 'x' AND run_id IN ('a') AND source_path LIKE 's3://%' AND version_number >= 2 AND tag.`mlflow.prompt.is_prompt` != 'true'",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let entities: Vec<_> = filter.clauses.iter().map(|c| c.entity.clone()).collect();
    assert_eq!(
        entities,
        vec![
            ModelVersionEntity::Name,
            ModelVersionEntity::RunId,
            ModelVersionEntity::SourcePath,
            ModelVersionEntity::VersionNumber,
            ModelVersionEntity::Tag("mlflow.prompt.is_prompt".into()),
        ]
    );
    assert!(ModelVersionFilter::parse("metrics.a > 1").is_err());
    assert!(ModelVersionFilter::parse("creation_timestamp > 1").is_err());
    assert!(ModelVersionFilter::parse("tags.a IS NULL").is_err());
    let key = OrderKey::<ModelVersionEntity>::parse("version_number DESC")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.entity, ModelVersionEntity::VersionNumber);
    assert!(OrderKey::<ModelVersionEntity>::parse("creation_timestamp").is_ok());
}

#[test]
fn registered_model_filters_take_name_and_tags() {
    let filter = RegisteredModelFilter::parse("name ILIKE '%taxi%' and tags.stage = 'prod'")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(filter.clauses[0].entity, RegisteredModelEntity::Name);
    assert_eq!(
        filter.clauses[1].entity,
        RegisteredModelEntity::Tag("stage".into())
    );
    assert!(RegisteredModelFilter::parse("run_id = 'a'").is_err());
    assert!(OrderKey::<RegisteredModelEntity>::parse("last_updated_timestamp DESC").is_ok());
}

proptest! {
    #[test]
    fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,60}") {
        let _ = RunFilter::parse(&text);
        let _ = ModelVersionFilter::parse(&text);
        let _ = OrderKey::<Entity>::parse(&text);
    }

    #[test]
    fn text_made_of_grammar_pieces_parses_or_is_refused_without_panicking(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("metrics."), Just("params."), Just("tags."), Just("`"), Just("\""), Just("'"),
                Just(" AND "), Just(" OR "), Just("="), Just("!="), Just(">="), Just(" IN "),
                Just(" NOT "), Just(" IS "), Just("NULL"), Just("("), Just(")"), Just(","),
                Just("-1.5e3"), Just("é"), Just("run_id"), Just("a"), Just("."), Just(" ")
            ],
            0..16,
        )
    ) {
        let text: String = pieces.concat();
        let _ = RunFilter::parse(&text);
        let _ = RegisteredModelFilter::parse(&text);
        let _ = OrderKey::<ModelVersionEntity>::parse(&text);
    }
}
