-- Up Migration
-- Delivery status (docs/status.md). One row per message: its current status is the event of highest rank, the
-- later `at` among equals (services/shared/status/status-event.ts, STATUS_RANK); the writer applies that rule in
-- its INSERT ... ON CONFLICT, so replayed or out-of-order events never move a status backwards.
CREATE TABLE status_messages (
  id text PRIMARY KEY,
  channel text NOT NULL,
  -- The API key name that sent it; NULL until the app's `queued` event arrives (events may overtake it).
  owner text,
  status text NOT NULL,
  status_rank smallint NOT NULL,
  status_at timestamptz NOT NULL,
  -- The detail of the event that set the current status (what a status change tells the client).
  status_detail text,
  attempts integer NOT NULL DEFAULT 0,
  provider text,
  provider_message_id text,
  -- When the provider accepted it (the `sent` event's at): the start of the callback lag.
  sent_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- GET /v1/messages: a key's messages newest first, keyset-paginated on (created_at, id).
CREATE INDEX status_messages_owner_created ON status_messages (owner, created_at DESC, id DESC);
-- Provider callbacks name the provider's id (Twilio's SID), not ours.
CREATE INDEX status_messages_provider_id ON status_messages (provider_message_id) WHERE provider_message_id IS NOT NULL;
-- Retention prunes by age.
CREATE INDEX status_messages_updated ON status_messages (updated_at);

-- Every event once (event ids are deterministic per stage: a redelivered event conflicts and changes nothing).
CREATE TABLE status_events (
  event_id text PRIMARY KEY,
  message_id text NOT NULL REFERENCES status_messages (id) ON DELETE CASCADE,
  status text NOT NULL,
  status_rank smallint NOT NULL,
  at timestamptz NOT NULL,
  attempt integer,
  detail text,
  provider text,
  provider_message_id text,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_events_message ON status_events (message_id, at);

-- Transactional outbox of status changes: written in the same transaction as the change, published to
-- relay.status.changes with confirms and deleted after; a replica that dies in between leaves them for the next.
CREATE TABLE status_outbox (
  seq bigserial PRIMARY KEY,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE status_outbox;
DROP TABLE status_events;
DROP TABLE status_messages;
