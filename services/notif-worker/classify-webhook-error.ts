import type { FailureClass } from '../shared/worker/provider';
import { classifyNetworkError } from '../shared/worker/network-errors';

/** The receiver answered with a non-2xx status. */
export class WebhookHttpError extends Error {
  readonly code = 'EWEBHOOK_STATUS';
  constructor(readonly status: number) {
    super(`webhook answered HTTP ${status}`);
  }
}

/** 429 and 5xx are the receiver asking us to come back later; any other answer outside 2xx is final. */
export function classifyWebhookError(error: unknown): FailureClass {
  if (error instanceof WebhookHttpError) {
    const transient = error.status === 429 || error.status >= 500;
    return { kind: transient ? 'transient' : 'permanent', reason: `webhook HTTP ${error.status}` };
  }
  return classifyNetworkError(error, 'webhook');
}
