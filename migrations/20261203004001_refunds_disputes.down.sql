DROP INDEX order_parts_charge;
DROP INDEX order_parts_created;
DROP TABLE early_fraud_warnings;
DROP TABLE disputes;
DROP TABLE refunds;
