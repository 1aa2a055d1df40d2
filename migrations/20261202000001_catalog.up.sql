-- Sellers and what they sell. Shared by the seller dashboard (writes) and the
-- storefront / checkout (reads): a product is buyable only through the rule in
-- src/db/products.rs (`SELLABLE`), never through a hand-written copy of it.

-- One row per seller account (users.role = 'seller'), created at sign-up.
CREATE TABLE sellers (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    -- shown on the storefront; defaults to the part of the email before the @
    display_name TEXT NOT NULL,
    -- the connected account (acct_…); one per seller, never shared
    stripe_account_id TEXT UNIQUE,
    -- domain::seller_state::AccountState as text: not_started, details_pending,
    -- requirements_due, restricted, active
    account_state TEXT NOT NULL DEFAULT 'not_started',
    details_submitted BIGINT NOT NULL DEFAULT 0,
    charges_enabled BIGINT NOT NULL DEFAULT 0,
    payouts_enabled BIGINT NOT NULL DEFAULT 0,
    -- the account's `requirements` hash as Stripe sent it (JSON text)
    requirements TEXT,
    -- when the snapshot above was read from Stripe (unix seconds); an older
    -- snapshot never overwrites a newer one
    account_read_at BIGINT,
    -- the seller deauthorized the platform (account.application.deauthorized)
    disconnected_at BIGINT,
    -- an admin stopped the shop (products hidden, no new charges)
    suspended_at BIGINT,
    -- per-seller platform fee override; NULL = the platform setting
    fee_bps BIGINT,
    fee_fixed_minor BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (user_id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_minor BIGINT NOT NULL CHECK (price_minor > 0 AND price_minor <= 99999999),
    currency TEXT NOT NULL,
    stock BIGINT NOT NULL CHECK (stock >= 0 AND stock <= 1000000),
    -- random file name under DATA_DIR/uploads/ and the type read from its bytes
    image_file TEXT,
    image_type TEXT,
    published BIGINT NOT NULL DEFAULT 0,
    -- soft delete (a product with orders keeps its row for their history)
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX products_seller ON products (seller_id, created_at);
-- storefront keyset pagination: newest published first
CREATE INDEX products_storefront ON products (published, created_at, id);
