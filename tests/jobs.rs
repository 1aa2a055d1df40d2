//! The DB-backed job queue and the mail it delivers.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{PASSWORD, TestDb, spawn_app, test_settings, unique_email};
use marketplace::db::{self, jobs};
use marketplace::email::Mailer;
use marketplace::jobs::{Worker, backoff_secs};
use reqwest::StatusCode;

/// Waits for the background worker; the deadline only bounds a hung test.
async fn wait_for_mail(dir: &std::path::Path, needle: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "eml") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    if text.contains(needle) {
                        return Some(text);
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn confirming_the_email_queues_a_welcome_mail_that_reaches_the_outbox() {
    let app = spawn_app().await;
    let email = unique_email("welcome");
    let res = app.signup(&email, PASSWORD, "seller").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let outbox = app.settings.data_dir.join("outbox");
    let verify = wait_for_mail(&outbox, "Subject: Confirm your email address")
        .await
        .expect("verification mail delivered to the outbox");
    assert!(verify.contains(&email));
    let link = common::email::outbox_for(&outbox, &email, 1).await[0]
        .email
        .text
        .lines()
        .find(|l| l.contains("/email/verify?token="))
        .expect("link in the text part")
        .trim()
        .to_string();
    let path = link
        .strip_prefix(&app.settings.base_url)
        .expect("absolute link");
    assert_eq!(app.get(path).await.status(), StatusCode::SEE_OTHER);

    let mail = wait_for_mail(&outbox, "Subject: Welcome to Marketplace")
        .await
        .expect("welcome mail delivered to the outbox");
    assert!(mail.contains(&email));
    assert!(mail.contains("connect a Stripe account"));
    assert!(mail.contains(&format!("{}/seller", app.settings.base_url)));
    assert!(mail.contains("text/html"), "html and text parts");
}

#[tokio::test]
async fn a_job_is_claimed_by_exactly_one_worker() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let id = jobs::enqueue(&mut conn, "noop", "{}", None, 100, 100)
        .await
        .unwrap()
        .expect("queued");
    drop(conn);

    let (a, b) = tokio::join!(
        jobs::claim(&pool, "worker-a", 100, 400),
        jobs::claim(&pool, "worker-b", 100, 400)
    );
    let winners: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "one claim wins");
    assert_eq!(winners[0].id, id);
    assert_eq!(winners[0].attempts, 1);
    assert!(
        jobs::claim(&pool, "worker-c", 200, 500)
            .await
            .unwrap()
            .is_none(),
        "leased"
    );

    // The lease expired (its worker died): another worker takes over and the
    // first one can no longer complete it.
    let taken = jobs::claim(&pool, "worker-c", 401, 700)
        .await
        .unwrap()
        .expect("re-claimed");
    assert_eq!(taken.attempts, 2);
    assert!(!jobs::complete(&pool, &id, "worker-a", 402).await.unwrap());
    assert!(jobs::complete(&pool, &id, "worker-c", 402).await.unwrap());
    assert!(
        jobs::claim(&pool, "worker-d", 10_000, 10_300)
            .await
            .unwrap()
            .is_none(),
        "done"
    );
    pool.close().await;
}

#[tokio::test]
async fn a_dedupe_key_queues_only_once() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let first = jobs::enqueue(&mut conn, "noop", "{}", Some("evt_1"), 1, 1)
        .await
        .unwrap();
    let second = jobs::enqueue(&mut conn, "noop", "{}", Some("evt_1"), 1, 1)
        .await
        .unwrap();
    assert!(first.is_some());
    assert!(second.is_none());
    drop(conn);
    pool.close().await;
}

#[tokio::test]
async fn a_failing_job_is_retried_later_with_its_error_kept() {
    let test_db = TestDb::new();
    let settings = test_settings(&test_db, &[]);
    let pool = db::connect(&test_db.url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let now = db::now_unix();
    let id = jobs::enqueue(&mut conn, "no_such_kind", "{}", None, now, now)
        .await
        .unwrap()
        .unwrap();
    drop(conn);

    let worker = Worker::new(
        pool.clone(),
        Arc::new(Mailer::from_settings(&settings).unwrap()),
    );
    assert!(worker.run_once().await.unwrap(), "the job ran");
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(!status.done);
    assert_eq!(status.attempts, 1);
    assert!(status.last_error.unwrap().contains("unknown job kind"));

    // Not due again until the backoff has passed.
    let later = db::now_unix();
    assert!(
        jobs::claim(&pool, "other", later, later + 60)
            .await
            .unwrap()
            .is_none()
    );
    let after_backoff = later + backoff_secs(1) + 1;
    assert!(
        jobs::claim(&pool, "other", after_backoff, after_backoff + 60)
            .await
            .unwrap()
            .is_some()
    );
    pool.close().await;
}
