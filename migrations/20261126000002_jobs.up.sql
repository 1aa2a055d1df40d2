-- A job queue in the database: work is enqueued in the same transaction as the
-- change that causes it, and any number of app instances can run workers.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- optional: enqueueing the same key twice is a no-op (e.g. a webhook event id)
    dedupe_key TEXT UNIQUE,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 10,
    -- lease: a worker owns the job until then; an expired lease can be taken again
    locked_until BIGINT,
    locked_by TEXT,
    last_error TEXT,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE INDEX jobs_due ON jobs (done_at, run_at);
