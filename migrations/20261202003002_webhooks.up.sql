-- Stripe events as received (delivery or reconciliation), stored once by
-- Stripe's event id, processed by a job (`process_webhook_event`).
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    -- platform | connect: the endpoint (or reconciliation scope) it came through
    endpoint TEXT NOT NULL,
    -- the connected account (acct_…) for Connect events, NULL for the platform's
    account TEXT,
    type TEXT NOT NULL,
    -- id of data.object
    object_id TEXT,
    -- Stripe's `created` (unix seconds)
    created BIGINT NOT NULL,
    payload TEXT NOT NULL,
    -- delivery | reconcile
    source TEXT NOT NULL,
    -- pending | applied | ignored | failed
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    -- what the handler found and did, for operators
    outcome TEXT,
    received_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX webhook_events_status ON webhook_events (status, received_at);
CREATE INDEX webhook_events_object ON webhook_events (object_id);

-- Every money movement we learnt of, one row per Stripe balance transaction.
-- Append-only: no code path updates or deletes a row.
CREATE TABLE ledger_entries (
    -- the balance transaction (txn_…): the same movement is never recorded twice
    balance_transaction TEXT PRIMARY KEY,
    -- 'platform' or the connected account (acct_…)
    account TEXT NOT NULL,
    -- charge | refund | refund_failure | application_fee | application_fee_refund |
    -- dispute | payout | payout_failure | … (Stripe's balance transaction type)
    kind TEXT NOT NULL,
    -- the object behind it: ch_, re_, fee_, fr_, dp_, po_
    source_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL,
    net BIGINT NOT NULL,
    currency TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    -- the event that made us look
    event_id TEXT,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account, occurred_at);

-- Where reconciliation stopped reading each account's /v1/events.
CREATE TABLE reconcile_cursors (
    account TEXT PRIMARY KEY,
    created_after BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per reconciliation run: progress while it runs, the summary after.
CREATE TABLE reconcile_runs (
    id TEXT PRIMARY KEY,
    -- running | done | failed
    status TEXT NOT NULL,
    accounts_total BIGINT NOT NULL DEFAULT 0,
    accounts_done BIGINT NOT NULL DEFAULT 0,
    events_read BIGINT NOT NULL DEFAULT 0,
    events_new BIGINT NOT NULL DEFAULT 0,
    events_applied BIGINT NOT NULL DEFAULT 0,
    events_failed BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);
