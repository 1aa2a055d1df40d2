-- Job queue fixes: every claim gets a fencing token that complete/fail must
-- present, and a job that ran out of attempts (or failed permanently) is
-- marked failed instead of staying pending forever.
ALTER TABLE jobs ADD COLUMN claim_token TEXT;
ALTER TABLE jobs ADD COLUMN failed_at BIGINT;

-- What a claim scans: jobs neither done nor failed, by due time.
CREATE INDEX jobs_claimable ON jobs (run_at, id) WHERE done_at IS NULL AND failed_at IS NULL;
