DROP INDEX jobs_claimable;
ALTER TABLE jobs DROP COLUMN failed_at;
ALTER TABLE jobs DROP COLUMN claim_token;
