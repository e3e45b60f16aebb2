//! Store URLs under property tests: any text given as `--store` opens a store or is a clear
//! error — never a panic — and no error ever shows the password a URL carried.
//!
//! PostgreSQL URLs point at a port nothing listens on (127.0.0.1:1), so each is parsed for real
//! and then refused at once; SQLite URLs point into a temporary directory.

#![allow(clippy::unwrap_used, clippy::panic)] // Tests fail loudly.

use millrace_metadata::{MetadataError, connect};
use proptest::prelude::*;

/// The password every generated URL carries: no error may show it.
const SECRET: &str = "Zq7secretWv";

/// Opens `url` on a runtime of its own: the error, if any.
fn open(url: &str) -> Option<MetadataError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(connect(url)).err()
}

/// Text of every kind: URL punctuation, percent escapes, spaces, non-ASCII.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9=&?%:@/. _-]{0,24}",
        "\\PC{0,16}",
        Just("journal=wal&synchronous=normal".to_owned()),
        Just("journal=delete&synchronous=full".to_owned()),
        Just("%zz".to_owned()),
        Just("sslmode=require".to_owned()),
    ]
}

fn assert_no_secret(url: &str, error: Option<MetadataError>) -> Result<(), TestCaseError> {
    if let Some(error) = error {
        let shown = format!("{error} {error:?}");
        prop_assert!(!shown.contains(SECRET), "{url}: {shown}");
        prop_assert!(!error.to_string().is_empty());
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_postgres_url_connects_or_fails_without_showing_its_password(
        scheme in prop::sample::select(vec!["postgres", "postgresql"]),
        user in "[a-z%0-9]{0,8}",
        database in junk(),
        options in junk(),
    ) {
        let url = format!("{scheme}://{user}:{SECRET}@127.0.0.1:1/{database}?{options}");
        assert_no_secret(&url, open(&url))?;
    }

    #[test]
    fn any_sqlite_url_opens_or_names_what_is_wrong(
        file in "[a-z0-9_.-]{0,12}",
        options in junk(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/{file}?{options}", dir.path().display());
        match open(&url) {
            None => {}
            Some(MetadataError::InvalidUrl { url: shown, reason }) => {
                prop_assert_eq!(shown, url.trim());
                prop_assert!(!reason.is_empty());
            }
            // A file name the file system refuses (`.`, `..`, a directory) is an I/O error.
            Some(error) => prop_assert!(error.to_string().contains(dir.path().to_str().unwrap()),
                "{url}: {error}"),
        }
    }

    #[test]
    fn any_text_with_a_password_in_it_is_refused_without_showing_it(
        scheme in prop::sample::select(vec!["mysql", "http", "sqlite3", "postgres+tls", "s3", ""]),
        rest in junk(),
    ) {
        let url = format!("{scheme}://admin:{SECRET}@db.example/{rest}");
        let error = open(&url);
        prop_assert!(error.is_some(), "{url} opened");
        assert_no_secret(&url, error)?;
    }
}
