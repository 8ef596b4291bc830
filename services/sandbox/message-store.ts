export type Channel = 'sms' | 'email' | 'notif';

export interface ReceivedMessage {
  /** The envelope id the worker sent along (header or body); undefined if the sender did not say. */
  id: string | undefined;
  channel: Channel;
  to: string;
  receivedAt: string;
  /** Channel-specific content: sms body, email subject/text, notification title/body/data. */
  content: Record<string, unknown>;
}

/** Everything the sandbox accepted, in arrival order; duplicates are kept so at-least-once can be observed. */
export class MessageStore {
  private readonly messages: ReceivedMessage[] = [];

  add(message: Omit<ReceivedMessage, 'receivedAt'>): ReceivedMessage {
    const stored = { ...message, receivedAt: new Date().toISOString() };
    this.messages.push(stored);
    return stored;
  }

  list(channel?: Channel): ReceivedMessage[] {
    return channel ? this.messages.filter((message) => message.channel === channel) : [...this.messages];
  }

  clear(): void {
    this.messages.length = 0;
  }
}
