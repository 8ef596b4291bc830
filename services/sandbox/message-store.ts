export type Channel = 'sms' | 'email' | 'notif';

export interface ReceivedMessage {
  /** Arrival number, 1-based and never reused (not even after a clear): the inbox page merges on it. */
  seq: number;
  /** The envelope id the worker sent along (header or body); undefined if the sender did not say. */
  id: string | undefined;
  channel: Channel;
  /** Which of the sandbox's provider personalities took it (`twilio-backup`, faults.ts): failover shows here. */
  personality: string;
  to: string;
  receivedAt: string;
  /** Channel-specific content: sms body, email subject/text/html/headers, notification title/body/data. */
  content: Record<string, unknown>;
}

export type StoreEvent = { type: 'added'; message: ReceivedMessage } | { type: 'cleared' };

/** Everything the sandbox accepted, in arrival order; duplicates are kept so at-least-once can be observed. */
export class MessageStore {
  private readonly messages: ReceivedMessage[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private lastSeq = 0;

  add(message: Omit<ReceivedMessage, 'receivedAt' | 'seq'>): ReceivedMessage {
    const stored = { seq: ++this.lastSeq, ...message, receivedAt: new Date().toISOString() };
    this.messages.push(stored);
    this.emit({ type: 'added', message: stored });
    return stored;
  }

  list(channel?: Channel): ReceivedMessage[] {
    return channel ? this.messages.filter((message) => message.channel === channel) : [...this.messages];
  }

  clear(): void {
    this.messages.length = 0;
    this.emit({ type: 'cleared' });
  }

  /** Calls `listener` on every change (the inbox page's live updates); returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
