-- Reconciliation also re-reads the PaymentIntents of order parts left in `processing` or
-- `requires_action` (their events may never have come): how many it read, and how many of
-- those it moved to a final state.
ALTER TABLE reconcile_runs ADD COLUMN payments_checked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reconcile_runs ADD COLUMN payments_settled BIGINT NOT NULL DEFAULT 0;
