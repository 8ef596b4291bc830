import { STATUS_RANK, type MessageStatus, type StatusEvent } from '../shared/status/status-event';

/** What one batch says about one message: the row the writer upserts (and merges with what is stored). */
export interface MessageFold {
  id: string;
  channel: StatusEvent['channel'];
  owner: string | null;
  /** The owner's key had a status webhook (StatusEvent.owner.statusWebhook): its changes go to the outbox. */
  statusWebhook: boolean;
  status: MessageStatus;
  rank: number;
  statusAt: string;
  detail: string | null;
  attempts: number;
  provider: string | null;
  providerMessageId: string | null;
  /** Earliest `sent` in the batch: when the provider accepted it. */
  sentAt: string | null;
  /** Earliest event in the batch (the `queued` one when it is there). */
  createdAt: string;
}

/**
 * The ordering rule (status-event.ts): an event wins over another when its rank is higher, or the rank is equal
 * and its `at` is later; the event id breaks an exact tie so that every replica folds the same way.
 */
export function wins(a: Pick<StatusEvent, 'status' | 'at' | 'eventId'>, b: Pick<StatusEvent, 'status' | 'at' | 'eventId'>): boolean {
  const rankA = STATUS_RANK[a.status];
  const rankB = STATUS_RANK[b.status];
  if (rankA !== rankB) return rankA > rankB;
  const atA = Date.parse(a.at);
  const atB = Date.parse(b.at);
  if (atA !== atB) return atA > atB;
  return a.eventId > b.eventId;
}

const earlier = (a: string | null, b: string): string => (a === null || Date.parse(b) < Date.parse(a) ? b : a);

/** One row per message (an upsert cannot touch the same row twice), sorted by id so replicas lock rows in one order. */
export function foldEvents(events: readonly StatusEvent[]): MessageFold[] {
  const folds = new Map<string, { fold: MessageFold; winner: StatusEvent }>();
  for (const event of events) {
    const entry = folds.get(event.messageId);
    if (!entry) {
      folds.set(event.messageId, {
        winner: event,
        fold: {
          id: event.messageId,
          channel: event.channel,
          owner: event.owner?.keyName ?? null,
          statusWebhook: event.owner?.statusWebhook === true,
          status: event.status,
          rank: STATUS_RANK[event.status],
          statusAt: event.at,
          detail: event.detail ?? null,
          attempts: event.attempt ?? 0,
          provider: event.provider ?? null,
          providerMessageId: event.providerMessageId ?? null,
          sentAt: event.status === 'sent' ? event.at : null,
          createdAt: event.at,
        },
      });
      continue;
    }
    const { fold } = entry;
    fold.owner ??= event.owner?.keyName ?? null;
    fold.statusWebhook ||= event.owner?.statusWebhook === true;
    fold.attempts = Math.max(fold.attempts, event.attempt ?? 0);
    fold.createdAt = earlier(fold.createdAt, event.at);
    if (event.status === 'sent') fold.sentAt = earlier(fold.sentAt, event.at);
    if (wins(event, entry.winner)) {
      entry.winner = event;
      fold.status = event.status;
      fold.rank = STATUS_RANK[event.status];
      fold.statusAt = event.at;
      fold.detail = event.detail ?? null;
      fold.provider = event.provider ?? fold.provider;
      fold.providerMessageId = event.providerMessageId ?? fold.providerMessageId;
    } else {
      fold.provider ??= event.provider ?? null;
      fold.providerMessageId ??= event.providerMessageId ?? null;
    }
  }
  return [...folds.values()].map((entry) => entry.fold).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
