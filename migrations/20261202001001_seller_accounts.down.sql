DROP TABLE seller_past_accounts;
ALTER TABLE sellers DROP COLUMN account_generation;
ALTER TABLE sellers DROP COLUMN stripe_account_type;
