/** Why a message could not be made durable right now; the HTTP layer maps every one of these to 503. */
export type BrokerUnavailableReason = 'disconnected' | 'blocked' | 'buffer_full' | 'timeout' | 'nacked' | 'channel_closed';

export class BrokerUnavailableError extends Error {
  readonly code = 'BROKER_UNAVAILABLE';
  constructor(readonly reason: BrokerUnavailableReason, message: string) {
    super(`publish failed: ${message}`);
  }
}

export class TopologyError extends Error {
  readonly code = 'TOPOLOGY_MISSING';
}
