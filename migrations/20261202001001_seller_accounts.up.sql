-- Seller onboarding: the kind of connected account, and reconnecting after a
-- disconnection (a new account, with its own idempotency key).

-- standard / express / custom, as Stripe reports it
ALTER TABLE sellers ADD COLUMN stripe_account_type TEXT;
-- counts the seller's connected accounts: 1 for the first, +1 per reconnect;
-- part of the idempotency key of the account creation
ALTER TABLE sellers ADD COLUMN account_generation BIGINT NOT NULL DEFAULT 1;

-- Accounts a seller used before disconnecting and reconnecting with a new one:
-- kept so an old acct_… id still names its seller (late events, order history).
CREATE TABLE seller_past_accounts (
    stripe_account_id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (user_id),
    disconnected_at BIGINT NOT NULL,
    replaced_at BIGINT NOT NULL
);
CREATE INDEX seller_past_accounts_seller ON seller_past_accounts (seller_id);
