//! The DB-backed job queue and the mail it delivers.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{PASSWORD, TestDb, spawn_app, test_settings, unique_email};
use marketplace::db::jobs::{ClaimedJob, FailOutcome};
use marketplace::db::{self, Db, jobs};
use marketplace::email::Mailer;
use marketplace::jobs::{Handler, JobError, Worker, WorkerConfig, backoff_secs};
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

async fn enqueue(
    pool: &Db,
    kind: &str,
    max_attempts: Option<i64>,
) -> marketplace::domain::ids::JobId {
    let mut conn = pool.acquire().await.unwrap();
    let now = db::clock::now(pool).await.unwrap();
    jobs::enqueue_with_attempts(&mut conn, kind, "{}", None, now, now, max_attempts)
        .await
        .unwrap()
        .expect("queued")
}

/// A worker on `pool` with short timings: lease `lease_secs`, retries at once.
fn worker(pool: &Db, test_db: &TestDb, lease_secs: u64) -> Worker {
    let settings = test_settings(test_db, &[]);
    Worker::new(
        pool.clone(),
        Arc::new(Mailer::from_settings(&settings).unwrap()),
    )
    .with_config(WorkerConfig {
        lease: Duration::from_secs(lease_secs),
        handler_timeout: Duration::from_secs(30),
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        poll_interval: Duration::from_millis(20),
    })
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), JobError>> + Send + 'static,
{
    Arc::new(move |_ctx, job| Box::pin(f(job)))
}

async fn wait_until_lease_expires() {
    // Leases are whole seconds on the database clock: a 1 s lease is surely
    // over 2 s later.
    tokio::time::sleep(Duration::from_millis(2100)).await;
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
async fn a_job_is_claimed_once_and_a_lapsed_holder_cannot_complete_it() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "noop", None).await;

    let (a, b) = tokio::join!(
        jobs::claim(&pool, "worker-a", 1),
        jobs::claim(&pool, "worker-b", 1)
    );
    let winners: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "one claim wins");
    let first = winners[0].clone();
    assert_eq!(first.id, id);
    assert_eq!(first.attempts, 1);
    assert!(
        jobs::claim(&pool, "worker-c", 1).await.unwrap().is_none(),
        "leased"
    );

    // The lease expired (its worker died): another worker takes over under a
    // new fencing token, and the first one can no longer complete or fail it.
    wait_until_lease_expires().await;
    let taken = jobs::claim(&pool, "worker-c", 60)
        .await
        .unwrap()
        .expect("re-claimed");
    assert_eq!(taken.attempts, 2);
    assert_ne!(taken.token, first.token);
    assert!(!jobs::complete(&pool, &id, &first.token).await.unwrap());
    assert_eq!(
        jobs::fail(&pool, &id, &first.token, "late", 0, false)
            .await
            .unwrap(),
        FailOutcome::NotHeld
    );
    assert!(
        !jobs::extend_lease(&pool, &id, &first.token, 60)
            .await
            .unwrap()
    );
    assert!(jobs::complete(&pool, &id, &taken.token).await.unwrap());
    assert!(
        jobs::claim(&pool, "worker-d", 1).await.unwrap().is_none(),
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
async fn a_failing_job_backs_off_with_its_error_kept() {
    let test_db = TestDb::new();
    let settings = test_settings(&test_db, &[]);
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "flaky", None).await;

    // Production timings: the first retry waits backoff_secs(1).
    let worker = Worker::new(
        pool.clone(),
        Arc::new(Mailer::from_settings(&settings).unwrap()),
    )
    .with_handler(
        "flaky",
        handler(|_| async { Err(JobError::retryable("Stripe is unavailable")) }),
    );
    let before = db::clock::now(&pool).await.unwrap();
    assert!(worker.run_once().await.unwrap(), "the job ran");
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(!status.done && !status.failed);
    assert_eq!(status.attempts, 1);
    assert!(status.last_error.unwrap().contains("Stripe is unavailable"));
    assert!(status.run_at >= before + backoff_secs(1));
    // Backing off: not claimable, by any worker.
    assert!(jobs::claim(&pool, "other", 60).await.unwrap().is_none());
    assert!(!worker.run_once().await.unwrap());
    pool.close().await;
}

#[tokio::test]
async fn an_unknown_kind_is_a_permanent_failure_not_retried() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "no_such_kind", None).await;
    let worker = worker(&pool, &test_db, 60);
    assert!(worker.run_once().await.unwrap());
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(status.failed, "parked as failed at once");
    assert_eq!(status.attempts, 1);
    assert!(status.last_error.unwrap().contains("unknown job kind"));
    assert!(!worker.run_once().await.unwrap(), "never claimed again");
    pool.close().await;
}

#[tokio::test]
async fn a_handler_failing_twice_then_succeeding_is_done_after_three_attempts() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "twice", None).await;
    let worker = worker(&pool, &test_db, 60).with_handler(
        "twice",
        handler(|job| async move {
            if job.attempts <= 2 {
                Err(JobError::retryable(format!(
                    "attempt {} failed",
                    job.attempts
                )))
            } else {
                Ok(())
            }
        }),
    );
    for _ in 0..3 {
        assert!(worker.run_once().await.unwrap());
    }
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(status.done);
    assert_eq!(status.attempts, 3);
    assert!(!worker.run_once().await.unwrap());
    pool.close().await;
}

#[tokio::test]
async fn a_job_out_of_attempts_is_parked_as_failed() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "always", Some(2)).await;
    let worker = worker(&pool, &test_db, 60).with_handler(
        "always",
        handler(|_| async { Err(JobError::retryable("still broken")) }),
    );
    assert!(worker.run_once().await.unwrap());
    assert!(!jobs::status(&pool, &id).await.unwrap().unwrap().failed);
    assert!(worker.run_once().await.unwrap());
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(status.failed && !status.done);
    assert_eq!(status.last_error.as_deref(), Some("still broken"));
    assert!(!worker.run_once().await.unwrap(), "not claimed again");

    // An operator's replay gives it a fresh set of attempts.
    assert!(jobs::requeue_failed(&pool, &id).await.unwrap());
    assert!(worker.run_once().await.unwrap());
    pool.close().await;
}

#[tokio::test]
async fn a_panicking_handler_fails_its_job_and_the_worker_goes_on() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let bad = enqueue(&pool, "panics", Some(1)).await;
    let good = enqueue(&pool, "fine", None).await;
    let worker = worker(&pool, &test_db, 60)
        .with_handler("panics", handler(|_| async { panic!("handler bug") }))
        .with_handler("fine", handler(|_| async { Ok(()) }));
    let task = worker.spawn();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let b = jobs::status(&pool, &bad).await.unwrap().unwrap();
        let g = jobs::status(&pool, &good).await.unwrap().unwrap();
        if b.failed && g.done {
            assert!(b.last_error.unwrap().contains("panicked: handler bug"));
            break;
        }
        assert!(Instant::now() < deadline, "the worker kept processing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!task.is_finished(), "the worker loop is still running");
    task.abort();
    pool.close().await;
}

#[tokio::test]
async fn a_killed_worker_s_job_is_run_again_after_the_lease_under_a_new_token() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "count", None).await;
    let runs = Arc::new(Mutex::new(0));
    let counted = runs.clone();
    let worker = worker(&pool, &test_db, 60).with_handler(
        "count",
        handler(move |_| {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                Ok(())
            }
        }),
    );

    // A worker claims the job and is killed before finishing it.
    let dead = jobs::claim(&pool, "killed", 1).await.unwrap().unwrap();
    assert!(!worker.run_once().await.unwrap(), "still leased");
    wait_until_lease_expires().await;
    assert!(worker.run_once().await.unwrap(), "taken over");
    assert_eq!(*runs.lock().unwrap(), 1);
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(status.done);
    assert_eq!(status.attempts, 2);
    assert!(!jobs::complete(&pool, &id, &dead.token).await.unwrap());
    pool.close().await;
}

#[tokio::test]
async fn a_long_handler_keeps_its_lease_and_a_hung_one_times_out() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    let id = enqueue(&pool, "slow", None).await;
    let worker = worker(&pool, &test_db, 1).with_handler(
        "slow",
        handler(|_| async {
            tokio::time::sleep(Duration::from_millis(3500)).await;
            Ok(())
        }),
    );
    let running = tokio::spawn(async move { worker.run_once().await });
    // Three lease lengths pass: the heartbeat keeps it ours.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            jobs::claim(&pool, "thief", 60).await.unwrap().is_none(),
            "the running job's lease was extended"
        );
    }
    assert!(running.await.unwrap().unwrap());
    let status = jobs::status(&pool, &id).await.unwrap().unwrap();
    assert!(status.done);
    assert_eq!(status.attempts, 1);

    let hung = enqueue(&pool, "hangs", None).await;
    let worker = worker_with_timeout(&pool, &test_db).with_handler(
        "hangs",
        handler(|_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }),
    );
    assert!(worker.run_once().await.unwrap());
    let status = jobs::status(&pool, &hung).await.unwrap().unwrap();
    assert!(!status.done);
    assert!(status.last_error.unwrap().contains("took longer"));
    pool.close().await;
}

fn worker_with_timeout(pool: &Db, test_db: &TestDb) -> Worker {
    let settings = test_settings(test_db, &[]);
    Worker::new(
        pool.clone(),
        Arc::new(Mailer::from_settings(&settings).unwrap()),
    )
    .with_config(WorkerConfig {
        handler_timeout: Duration::from_millis(300),
        ..WorkerConfig::default()
    })
}

#[tokio::test]
async fn workers_on_two_pools_run_each_job_exactly_once() {
    let test_db = TestDb::new();
    // Two pools on one database: two app instances.
    let pool_a = db::connect(&test_db.url).await.unwrap();
    let pool_b = db::connect(&test_db.url).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..60 {
        ids.push(enqueue(&pool_a, "tally", None).await);
    }
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let mut tasks = Vec::new();
    for pool in [&pool_a, &pool_b] {
        for _ in 0..3 {
            let runs = runs.clone();
            let w = worker(pool, &test_db, 60).with_handler(
                "tally",
                handler(move |job| {
                    let runs = runs.clone();
                    async move {
                        *runs
                            .lock()
                            .unwrap()
                            .entry(job.id.as_str().to_owned())
                            .or_default() += 1;
                        Ok(())
                    }
                }),
            );
            tasks.push(w.spawn());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while jobs::count_pending(&pool_a).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "jobs still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        t.abort();
    }
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), ids.len());
    assert!(
        runs.values().all(|n| *n == 1),
        "each job ran once: {runs:?}"
    );
    pool_a.close().await;
    pool_b.close().await;
}

#[tokio::test]
async fn housekeeping_prunes_old_finished_jobs_and_keeps_failed_ones() {
    let test_db = TestDb::new();
    let pool = db::connect(&test_db.url).await.unwrap();
    // The last attempt of `lost` is claimed by a worker that dies.
    let lost = enqueue(&pool, "fine", Some(1)).await;
    let dead = jobs::claim(&pool, "dies", 0).await.unwrap().unwrap();
    assert_eq!(dead.id, lost);
    let old_done = enqueue(&pool, "fine", None).await;
    let recent_done = enqueue(&pool, "fine", None).await;
    let failed = enqueue(&pool, "no_such_kind", None).await;
    let worker = worker(&pool, &test_db, 60).with_handler("fine", handler(|_| async { Ok(()) }));
    while worker.run_once().await.unwrap() {}
    // `old_done` finished 15 days ago.
    sqlx::query("UPDATE jobs SET done_at = done_at - 15 * 86400 WHERE id = $1")
        .bind(old_done.as_str())
        .execute(pool.writer())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    marketplace::startup::housekeep_jobs(&pool, 14)
        .await
        .unwrap();
    assert!(
        jobs::status(&pool, &old_done).await.unwrap().is_none(),
        "pruned"
    );
    assert!(
        jobs::status(&pool, &recent_done)
            .await
            .unwrap()
            .unwrap()
            .done
    );
    assert!(
        jobs::status(&pool, &failed).await.unwrap().unwrap().failed,
        "kept"
    );
    let lost = jobs::status(&pool, &lost).await.unwrap().unwrap();
    assert!(lost.failed, "out of attempts with its worker gone: parked");
    pool.close().await;
}
