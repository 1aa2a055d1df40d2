-- Email verification, password reset, revocable sessions, race-free throttling.

-- NULL until the owner follows the link in the verification mail. Accounts that
-- existed before verification did count as verified (they were never asked).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
UPDATE users SET email_verified_at = created_at;
-- Bumped by "log out everywhere", a password change and a reset: every session
-- cookie carries the epoch it was issued under and dies when it differs.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;

-- Single-use links mailed to the owner. Only a SHA-256 of the token is kept,
-- so a copy of the database cannot be used to take over accounts.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- 'verify_email' or 'reset_password'
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);

-- Attempt counters (log-in, sign-up, reset and resend forms) in fixed windows.
-- An attempt is reserved with one UPSERT whose WHERE re-checks the count, so
-- parallel requests cannot all slip under the limit on either database.
CREATE TABLE throttle_buckets (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);

CREATE INDEX throttle_buckets_window ON throttle_buckets (window_start);

-- Replaced by throttle_buckets (it counted failures only after verifying the password).
DROP TABLE login_failures;
