-- Portable between SQLite and PostgreSQL: TEXT prefixed ids, BIGINT integers,
-- unix-second timestamps.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- stored lower-cased by the app, so this UNIQUE is case-insensitive
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('buyer', 'seller', 'admin')),
    created_at BIGINT NOT NULL
);

CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);

CREATE INDEX login_failures_email ON login_failures (email, failed_at);
CREATE INDEX login_failures_ip ON login_failures (ip, failed_at);
