-- Refunds issued on an order part (by an admin here, or seen in Stripe through a webhook),
-- the part's disputes and the card networks' early fraud warnings.

-- status: requested (amount reserved on the part, Stripe not answered yet), then Stripe's own
-- refund status: pending, succeeded, failed, canceled, requires_action. A refund that Stripe
-- refused outright is failed with our own failure_reason.
CREATE TABLE refunds (
    -- rfd_…; also the idempotency key's root and the Refund's metadata.refund_id
    id TEXT PRIMARY KEY,
    part_id TEXT NOT NULL REFERENCES order_parts (id),
    -- the admin who issued it; NULL when it was made outside the marketplace (Dashboard)
    admin_id TEXT REFERENCES users (id),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    -- Stripe's reason: duplicate, fraudulent, requested_by_customer
    reason TEXT,
    refund_application_fee BIGINT NOT NULL,
    -- what the preview promised: the platform's share of its fee given back
    preview_fee_refund_minor BIGINT NOT NULL DEFAULT 0,
    -- the ApplicationFee's amount_refunded just before the refund was sent
    fee_refunded_before_minor BIGINT,
    stripe_refund_id TEXT UNIQUE,
    status TEXT NOT NULL,
    -- what Stripe returned: the Refund's amount, and the ApplicationFee's amount_refunded
    -- right after (cumulative over the charge's refunds)
    stripe_amount_minor BIGINT,
    fee_amount_refunded_minor BIGINT,
    failure_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX refunds_part ON refunds (part_id, created_at);

-- One row per Stripe dispute, rewritten from the dispute as Stripe has it each time an event
-- about it is processed.
CREATE TABLE disputes (
    id TEXT PRIMARY KEY,
    stripe_dispute_id TEXT NOT NULL UNIQUE,
    part_id TEXT NOT NULL REFERENCES order_parts (id),
    seller_id TEXT NOT NULL REFERENCES sellers (user_id),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    reason TEXT NOT NULL,
    -- Stripe's status: warning_needs_response, needs_response, under_review, won, lost…
    status TEXT NOT NULL,
    evidence_due_by BIGINT,
    evidence_submitted_at BIGINT,
    -- won / lost once closed
    outcome TEXT,
    stripe_created BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX disputes_seller ON disputes (seller_id, created_at);
CREATE INDEX disputes_part ON disputes (part_id, stripe_created);
CREATE INDEX disputes_status ON disputes (status, evidence_due_by);

CREATE TABLE early_fraud_warnings (
    stripe_warning_id TEXT PRIMARY KEY,
    part_id TEXT NOT NULL REFERENCES order_parts (id),
    fraud_type TEXT NOT NULL,
    actionable BIGINT NOT NULL,
    stripe_created BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX early_fraud_warnings_part ON early_fraud_warnings (part_id);
CREATE INDEX early_fraud_warnings_newest ON early_fraud_warnings (stripe_created);

-- The admin order search filters parts by time and buyer.
CREATE INDEX order_parts_created ON order_parts (created_at, id);
CREATE INDEX order_parts_charge ON order_parts (stripe_charge_id);
