ALTER TABLE reconcile_runs DROP COLUMN payments_settled;
ALTER TABLE reconcile_runs DROP COLUMN payments_checked;
