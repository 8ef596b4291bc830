-- Up Migration
-- Only the changes of messages whose API key had a status webhook go to the outbox (relay.status.changes); the
-- app says so on the `queued` event (StatusEvent.owner.statusWebhook). Rows stored before this migration keep
-- the old behaviour (every change relayed, the dispatcher skips keys without a webhook): hence true for them and
-- false as the default for new rows.
ALTER TABLE status_messages ADD COLUMN status_webhook boolean NOT NULL DEFAULT true;
ALTER TABLE status_messages ALTER COLUMN status_webhook SET DEFAULT false;

-- Down Migration
ALTER TABLE status_messages DROP COLUMN status_webhook;
