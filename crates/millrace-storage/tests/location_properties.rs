//! Roots and artifact URIs under property tests: any text is a location or a clear error, never
//! a panic; an object location never holds a `.` or `..` segment, so no key it makes can leave
//! its prefix; and a well-formed URL keeps its bucket and key.

#![allow(clippy::unwrap_used, clippy::panic)] // Tests fail loudly.

use millrace_core::spec::validate::redact_secrets;
use millrace_storage::{Location, StorageError};
use proptest::prelude::*;

proptest! {
    // PROPTEST_CASES, when set, runs longer (or shorter).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(1024)
    ))]

    #[test]
    fn any_text_is_a_location_or_a_clear_error(text in "\\PC{0,80}") {
        match Location::parse(&text) {
            Ok(Location::Object(object)) => {
                prop_assert!(!object.bucket.is_empty());
                prop_assert!(object.key.split('/').all(|part| part != "." && part != ".."));
            }
            Ok(Location::Local(_)) => {}
            Err(StorageError::InvalidUri { uri, reason }) => {
                prop_assert_eq!(uri, redact_secrets(&text));
                prop_assert!(!reason.is_empty());
            }
            Err(other) => prop_assert!(false, "an unexpected error: {other}"),
        }
    }

    #[test]
    fn url_like_text_never_yields_a_key_that_climbs_out(
        scheme in prop::sample::select(vec!["s3", "gs", "az", "memory", "ftp", "S3"]),
        rest in "[a-z./\\-]{0,40}",
    ) {
        if let Ok(Location::Object(object)) = Location::parse(&format!("{scheme}://{rest}")) {
            prop_assert!(object.key.split('/').all(|part| part != "." && part != ".."));
            prop_assert!(!object.key.starts_with('/') && !object.key.ends_with('/'));
        }
    }

    #[test]
    fn a_well_formed_url_keeps_its_bucket_and_key(
        bucket in "[a-z][a-z0-9\\-]{2,20}",
        parts in prop::collection::vec("[a-z0-9_]{1,10}", 0..5),
    ) {
        let key = parts.join("/");
        let Location::Object(object) = Location::parse(&format!("s3://{bucket}/{key}")).unwrap() else {
            panic!("an s3 URL is an object location");
        };
        prop_assert_eq!(object.bucket, bucket);
        prop_assert_eq!(object.key, key);
    }
}
