//! What only the PostgreSQL store does, each test on a database of its own
//! on the test cluster: its versioned schema, a newer schema refused
//! untouched, and where its password comes from.

use helpdesk_slo::store::{self, StoreError, PG_SCHEMA_VERSION};

use crate::fixtures::{sample_page, SRC};
use crate::pg::PgDatabase;

#[test]
fn a_new_database_gets_the_schema_and_opening_again_migrates_nothing() {
    let db = PgDatabase::new("pg_schema");
    let mut store = store::open(db.url()).unwrap();
    store.apply_page(SRC, &sample_page()).unwrap();
    let version = db
        .query_text("SELECT max(version)::text FROM store_schema")
        .unwrap();
    assert_eq!(version, Some(PG_SCHEMA_VERSION.to_string()));
    drop(store);
    // Reopened: the same version, one row, the data kept.
    let store = store::open(db.url()).unwrap();
    let rows = db
        .query_text("SELECT count(*)::text FROM store_schema")
        .unwrap();
    assert_eq!(rows.as_deref(), Some("1"));
    assert_eq!(store.stats().unwrap().tickets, 2);
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let db = PgDatabase::new("pg_toonew");
    drop(store::open(db.url()).unwrap());
    db.sql("UPDATE store_schema SET version = version + 5; CREATE TABLE from_the_future (x int)")
        .unwrap();
    let err = match store::open(db.url()) {
        Ok(_) => panic!("a newer schema was opened"),
        Err(e) => e,
    };
    match &err {
        StoreError::TooNew { found, known, .. } => {
            assert_eq!(*found, PG_SCHEMA_VERSION + 5);
            assert_eq!(*known, PG_SCHEMA_VERSION);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("newer helpdesk-slo"), "{err}");
    assert_eq!(
        db.query_text("SELECT to_regclass('from_the_future')::text")
            .unwrap()
            .as_deref(),
        Some("from_the_future")
    );
}

#[test]
fn the_password_comes_from_the_named_variable_and_its_absence_is_named() {
    let db = PgDatabase::new("pg_password");
    // The cluster's own URL names its variable: the store connects.
    assert!(db.url().contains("password_env="));
    drop(store::open(db.url()).unwrap());
    // A variable that is not set is named, and nothing connects.
    let unset = db.url().replace(
        "password_env=HELPDESK_SLO_TEST_POSTGRES_PASSWORD",
        "password_env=HELPDESK_SLO_TEST_NOT_SET",
    );
    let message = store::open(&unset)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("HELPDESK_SLO_TEST_NOT_SET"), "{message}");
    // A password file: read, its line break dropped.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    let password = std::env::var("HELPDESK_SLO_TEST_POSTGRES_PASSWORD").unwrap();
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let from_file = db.url().replace(
        "password_env=HELPDESK_SLO_TEST_POSTGRES_PASSWORD",
        &format!("password_file={}", file.display()),
    );
    drop(store::open(&from_file).unwrap());
    // A wrong password: refused by the server, and not shown.
    std::fs::write(&file, "not-the-password\n").unwrap();
    let message = store::open(&from_file)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("connecting"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    // Written into the URL: refused before connecting, never shown.
    let written = db
        .url()
        .replace("slo_test@", &format!("slo_test:{password}@"));
    let message = store::open(&written)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("holds a password"), "{message}");
    assert!(!message.contains(&password), "{message}");
}

/// The server closing the store's connection (a restart, an
/// administrator) costs the call that finds it closed at most: the next
/// one reconnects, and what was committed is there.
#[test]
fn a_connection_closed_by_the_server_is_replaced() {
    let db = PgDatabase::new("pg_reconnect");
    let mut store = store::open(db.url()).unwrap();
    store.apply_page(SRC, &sample_page()).unwrap();
    db.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(store.stats().unwrap().tickets, 2);
    assert_eq!(
        store.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );
    assert!(store.apply_page(SRC, &sample_page()).unwrap().is_empty());
}

/// `sslmode=require` with the cluster's authority in `sslrootcert=`: the
/// connection uses TLS. Without it, the public authorities do not vouch
/// for the test server's certificate: refused, saying why.
#[test]
fn tls_is_used_with_sslmode_require_and_the_servers_certificate_is_verified() {
    let db = PgDatabase::new("pg_tls");
    let ca = std::env::var("HELPDESK_SLO_TEST_POSTGRES_CA")
        .expect("HELPDESK_SLO_TEST_POSTGRES_CA: scripts/test.sh sets it with the cluster");
    let tag = format!("tls_test_{}", std::process::id());
    let url = format!(
        "{}&sslmode=require&sslrootcert={ca}&application_name={tag}",
        db.url()
    );
    let mut store = store::open(&url).unwrap();
    store.apply_page(SRC, &sample_page()).unwrap();
    let ssl = db
        .query_text(&format!(
            "SELECT bool_and(s.ssl)::text FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = '{tag}'"
        ))
        .unwrap();
    assert_eq!(ssl.as_deref(), Some("true"));
    drop(store);

    let untrusted = format!("{}&sslmode=verify-full", db.url());
    let message = store::open(&untrusted)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(!message.contains(&std::env::var("HELPDESK_SLO_TEST_POSTGRES_PASSWORD").unwrap()));

    // A root file that is not there is named.
    let missing = format!(
        "{}&sslmode=require&sslrootcert=/nonexistent/ca.pem",
        db.url()
    );
    let message = store::open(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("/nonexistent/ca.pem"), "{message}");
}

/// A database of schema version 4 (a quarter of each page of `tickets`
/// left free) is migrated to half on open, its data kept.
#[test]
fn a_version_4_database_is_migrated_to_half_empty_ticket_pages() {
    let db = PgDatabase::new("pg_v4");
    let mut store = store::open(db.url()).unwrap();
    store.apply_page(SRC, &sample_page()).unwrap();
    drop(store);
    db.sql("ALTER TABLE tickets SET (fillfactor = 75); UPDATE store_schema SET version = 4")
        .unwrap();
    let store = store::open(db.url()).unwrap();
    assert_eq!(
        db.query_text("SELECT max(version)::text FROM store_schema")
            .unwrap(),
        Some(PG_SCHEMA_VERSION.to_string())
    );
    assert_eq!(
        db.query_text(
            "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'tickets'"
        )
        .unwrap()
        .as_deref(),
        Some("fillfactor=50")
    );
    assert_eq!(store.stats().unwrap().tickets, 2);
}
