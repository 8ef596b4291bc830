import type { Envelope } from '../../services/shared/envelope/envelope';

/**
 * Messages of the cluster-IPC baseline (the seed post's original design), all over Node's built-in IPC channels:
 * app worker -> master: `{ kind: 'message', envelope }`; master -> channel worker: the same object;
 * master -> channel worker: `{ kind: 'stats', requestId }`, answered with `{ kind: 'stats', requestId, stats }`.
 */
export interface RelayMessage {
  kind: 'message';
  envelope: Envelope;
}

export interface StatsRequest {
  kind: 'stats';
  requestId: number;
}

export interface ChannelStats {
  type: string;
  pid: number;
  delivered: number;
  failed: number;
  inFlight: number;
  waiting: number;
  /** End-to-end latency samples in ms (acceptedAt -> provider accepted), at most MAX_SAMPLES, oldest kept. */
  samplesMs: number[];
}

export interface StatsReply {
  kind: 'stats';
  requestId: number;
  stats: ChannelStats;
}

export const MAX_SAMPLES = 500_000;
