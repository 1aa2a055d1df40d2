-- The admin's seller list: newest first with keyset pagination, optionally
-- filtered by onboarding state.
CREATE INDEX sellers_newest ON sellers (created_at, user_id);
CREATE INDEX sellers_state ON sellers (account_state, created_at, user_id);
