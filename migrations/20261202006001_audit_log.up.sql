-- What admins did, append-only: src/db/audit.rs only INSERTs and SELECTs this
-- table (tests/admin_audit.rs fails the build if src/ ever updates or deletes
-- it). A row is written in the same transaction as the action it records.
CREATE TABLE audit_log (
    -- aud_…
    id TEXT PRIMARY KEY,
    -- the admin who acted, and their email at that moment
    actor_id TEXT NOT NULL REFERENCES users (id),
    actor_email TEXT NOT NULL,
    -- domain::audit::AuditAction as text, e.g. seller.suspend
    action TEXT NOT NULL,
    -- what was acted on: a kind (seller, order, refund, event…) and its id
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    -- the admin's stated reason, when the action asks for one
    reason TEXT,
    -- the changed fields before and after, as JSON objects (text)
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- newest first, keyset pagination; and the same filtered by action / subject
CREATE INDEX audit_log_newest ON audit_log (created_at, id);
CREATE INDEX audit_log_action ON audit_log (action, created_at, id);
CREATE INDEX audit_log_subject ON audit_log (subject_kind, subject_id, created_at);
