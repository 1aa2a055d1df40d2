-- Carts, saved cards, orders and their per-seller payments (one direct charge
-- per seller on the seller's connected account).

-- A logged-in buyer's cart; a visitor's cart lives in the session until log-in.
CREATE TABLE cart_items (
    buyer_id TEXT NOT NULL REFERENCES users (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0 AND quantity <= 1000),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (buyer_id, product_id)
);

-- The buyer's one Customer on the platform account.
CREATE TABLE buyer_customers (
    buyer_id TEXT PRIMARY KEY REFERENCES users (id),
    stripe_customer_id TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- The buyer's Customer on one seller's connected account (one per pair).
CREATE TABLE connected_customers (
    buyer_id TEXT NOT NULL REFERENCES users (id),
    seller_id TEXT NOT NULL REFERENCES sellers (user_id),
    stripe_customer_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (buyer_id, seller_id)
);

-- Cards saved on the platform Customer through a hosted page.
CREATE TABLE saved_cards (
    id TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL REFERENCES users (id),
    stripe_payment_method_id TEXT NOT NULL UNIQUE,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE INDEX saved_cards_buyer ON saved_cards (buyer_id, created_at);

-- A saved card cloned onto a seller's connected account.
CREATE TABLE cloned_cards (
    card_id TEXT NOT NULL REFERENCES saved_cards (id),
    seller_id TEXT NOT NULL REFERENCES sellers (user_id),
    stripe_payment_method_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (card_id, seller_id)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL REFERENCES users (id),
    -- the random token of the checkout form: a second submit finds this order
    checkout_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (buyer_id, checkout_token)
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at);

-- One direct charge per seller (and currency) of an order.
-- status: pending (reserved, not yet sent), processing (sent, outcome not yet
-- known), requires_action (3-D Secure), authorized (manual capture), paid,
-- failed (declined; items released), canceled (authorization canceled or expired).
CREATE TABLE order_parts (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    buyer_id TEXT NOT NULL REFERENCES users (id),
    seller_id TEXT NOT NULL REFERENCES sellers (user_id),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    fee_minor BIGINT NOT NULL CHECK (fee_minor >= 0),
    status TEXT NOT NULL,
    -- which payment attempt the current PaymentIntent belongs to (a retry with
    -- another card is a new attempt and a new idempotency key)
    attempt BIGINT NOT NULL DEFAULT 1,
    card_id TEXT REFERENCES saved_cards (id),
    stripe_payment_intent_id TEXT,
    stripe_charge_id TEXT,
    captured_minor BIGINT NOT NULL DEFAULT 0,
    failure_reason TEXT,
    action_url TEXT,
    -- 1 while the items' stock is held for this part
    stock_held BIGINT NOT NULL DEFAULT 1,
    authorized_at BIGINT,
    shipped_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX order_parts_order ON order_parts (order_id);
CREATE INDEX order_parts_seller ON order_parts (seller_id, created_at);
CREATE INDEX order_parts_status ON order_parts (status, updated_at);

CREATE TABLE order_items (
    part_id TEXT NOT NULL REFERENCES order_parts (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    title TEXT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (part_id, product_id)
);

-- Every status change of a part, with its time (the payment timeline).
CREATE TABLE order_part_events (
    id TEXT PRIMARY KEY,
    part_id TEXT NOT NULL REFERENCES order_parts (id),
    status TEXT NOT NULL,
    detail TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX order_part_events_part ON order_part_events (part_id, created_at);
