//! The schema applies, reverts and re-applies on the configured backend.

mod common;

use common::TestDb;
use marketplace::db::{self, MIGRATOR};
use sqlx::Row;

async fn table_exists(pool: &db::Db, table: &str) -> bool {
    // A query that works on both backends without catalog differences.
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(pool)
        .await
        .is_ok()
}

#[tokio::test]
async fn migrations_apply_revert_and_reapply() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.expect("connect + migrate");

    let applied: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert_eq!(
        applied as usize,
        MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .count()
    );
    assert!(table_exists(&pool, "users").await);
    assert!(table_exists(&pool, "account_tokens").await);
    assert!(table_exists(&pool, "throttle_buckets").await);

    // Running again is a no-op.
    MIGRATOR.run(&pool).await.expect("idempotent");

    MIGRATOR
        .undo(&pool, 0)
        .await
        .expect("every migration reverts");
    assert!(!table_exists(&pool, "users").await);
    MIGRATOR.run(&pool).await.expect("re-apply");
    assert!(table_exists(&pool, "users").await);
    pool.close().await;
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
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>("second").unwrap(), 2);
    assert_eq!(row.try_get::<i64, _>("first").unwrap(), 1);
    assert_eq!(row.try_get::<i64, _>("again").unwrap(), 2);
    pool.close().await;
}
