CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, failed_at);
CREATE INDEX login_failures_ip ON login_failures (ip, failed_at);

DROP TABLE throttle_buckets;
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN session_epoch;
ALTER TABLE users DROP COLUMN email_verified_at;
