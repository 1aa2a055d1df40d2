//! The schema applies, reverts and re-applies on the configured backend.

mod common;

use common::TestDb;
use marketplace::db;
use sqlx::Row;
use sqlx::migrate::Migrator;

async fn table_exists(pool: &db::Db, table: &str) -> bool {
    // A query that works on both backends without catalog differences.
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(pool.writer())
        .await
        .is_ok()
}

#[tokio::test]
async fn migrations_apply_revert_and_reapply() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.expect("connect + migrate");
    let migrator = db::migrator().await.unwrap();

    let applied: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(pool.writer())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert_eq!(
        applied as usize,
        migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .count()
    );
    assert!(table_exists(&pool, "users").await);
    assert!(table_exists(&pool, "account_tokens").await);
    assert!(table_exists(&pool, "throttle_buckets").await);

    // Running again is a no-op.
    migrator.run(pool.writer()).await.expect("idempotent");

    migrator
        .undo(pool.writer(), 0)
        .await
        .expect("every migration reverts");
    assert!(!table_exists(&pool, "users").await);
    migrator.run(pool.writer()).await.expect("re-apply");
    assert!(table_exists(&pool, "users").await);
    pool.close().await;
}

/// The embedded list (build.rs) must be what sqlx reads from the directory itself: a different
/// description or checksum would make every database migrated by an earlier build fail to start
/// ("migration was previously applied but has been modified").
#[tokio::test]
async fn embedded_migrations_match_sqlx_reading_the_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let from_dir = Migrator::new(dir).await.expect("sqlx resolves migrations/");
    let embedded = db::migrator().await.unwrap();
    let describe = |m: &Migrator| {
        m.iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    m.migration_type.suffix(),
                    m.checksum.to_vec(),
                    m.sql.to_string(),
                    m.no_tx,
                )
            })
            .collect::<Vec<_>>()
    };
    let (mut a, mut b) = (describe(&from_dir), describe(&embedded));
    // sqlx leaves an up/down pair (one version) in directory order, which does not matter.
    a.sort();
    b.sort();
    assert!(a.len() >= 2, "the directory has migrations");
    assert_eq!(a, b);
}

#[tokio::test]
async fn emails_are_unique_regardless_of_case_in_the_database() {
    use marketplace::domain::{Email, Role};
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let a = Email::parse("Case@Example.com").unwrap();
    let b = Email::parse("case@EXAMPLE.COM").unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let first = db::users::insert(&mut conn, &a, "hash", Role::Buyer, 1)
        .await
        .unwrap();
    assert!(first.is_some());
    let second = db::users::insert(&mut conn, &b, "hash", Role::Seller, 2)
        .await
        .unwrap();
    assert!(
        second.is_none(),
        "the second insert is refused by the UNIQUE constraint"
    );
    drop(conn);
    pool.close().await;
}

#[tokio::test]
async fn numbered_placeholders_bind_by_number_on_every_backend() {
    // The db layer writes `$N` everywhere; SQLite must map `$2` to the second
    // bound value, not to the first placeholder it meets.
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let row = sqlx::query("SELECT $2 AS second, $1 AS first, $2 AS again")
        .bind(1_i64)
        .bind(2_i64)
        .fetch_one(pool.writer())
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>("second").unwrap(), 2);
    assert_eq!(row.try_get::<i64, _>("first").unwrap(), 1);
    assert_eq!(row.try_get::<i64, _>("again").unwrap(), 2);
    pool.close().await;
}

/// Reads see committed writes at once; on SQLite the read connections refuse to write, so a
/// write sent to `reader()` fails loudly instead of waiting on SQLite's busy handler.
#[tokio::test]
async fn reads_see_writes_and_sqlite_readers_refuse_writes() {
    let test_db = TestDb::new();
    let db = db::connect(&test_db.url).await.expect("connect + migrate");
    sqlx::query("CREATE TABLE probe (v BIGINT NOT NULL)")
        .execute(db.writer())
        .await
        .unwrap();
    sqlx::query("INSERT INTO probe (v) VALUES (1)")
        .execute(db.writer())
        .await
        .unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM probe")
        .fetch_one(db.reader())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 1);

    let through_reader = sqlx::query("INSERT INTO probe (v) VALUES (2)")
        .execute(db.reader())
        .await;
    match db.backend() {
        db::Backend::Sqlite => {
            let err = through_reader
                .expect_err("a read connection wrote")
                .to_string();
            assert!(err.contains("readonly"), "{err}");
        }
        // One pool serves both on PostgreSQL.
        db::Backend::Postgres => {
            through_reader.expect("PostgreSQL reader is the writer pool");
        }
    }
    db.close().await;
}
