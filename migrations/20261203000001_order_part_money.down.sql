ALTER TABLE order_parts DROP COLUMN dispute_status;
ALTER TABLE order_parts DROP COLUMN refunded_minor;
