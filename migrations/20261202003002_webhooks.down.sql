DROP TABLE reconcile_runs;
DROP TABLE reconcile_cursors;
DROP TABLE ledger_entries;
DROP TABLE webhook_events;
