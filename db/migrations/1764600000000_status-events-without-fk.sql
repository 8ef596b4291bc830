-- Up Migration
-- The events' foreign key checked every event against status_messages: 17 % of the status writer's PostgreSQL CPU
-- (docs/performance.md). Nothing needs it: the writer upserts a message before its events in the same
-- transaction, and retention deletes a message's events in the statement that deletes the message
-- (services/status-service/retention.ts), which the ON DELETE CASCADE did before.
ALTER TABLE status_events DROP CONSTRAINT status_events_message_id_fkey;

-- Down Migration
DELETE FROM status_events e WHERE NOT EXISTS (SELECT 1 FROM status_messages m WHERE m.id = e.message_id);
ALTER TABLE status_events ADD CONSTRAINT status_events_message_id_fkey FOREIGN KEY (message_id) REFERENCES status_messages (id) ON DELETE CASCADE;
