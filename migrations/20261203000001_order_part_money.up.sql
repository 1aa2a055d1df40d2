-- Summaries of what happened to a part's money after it was paid, kept next to its status so
-- the seller's and admin's order lists can filter on them without joining refunds and disputes.
-- refunded_minor: sum of the part's succeeded (or pending) refunds, never above captured_minor.
-- dispute_status: Stripe's status of the part's latest dispute; NULL when never disputed.
ALTER TABLE order_parts ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE order_parts ADD COLUMN dispute_status TEXT;
