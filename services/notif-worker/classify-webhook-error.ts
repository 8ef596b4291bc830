import type { FailureClass } from '../shared/worker/provider';
import { classifyNetworkError } from '../shared/worker/network-errors';

/** The receiver answered with a non-2xx status. */
export class WebhookHttpError extends Error {
  readonly code = 'EWEBHOOK_STATUS';
  constructor(readonly status: number) {
    super(`webhook answered HTTP ${status}`);
  }
}

/**
 * 401/403: the receiver refuses our signature or secret (a configuration problem, `credentials`); 429 and 5xx are
 * the receiver asking us to come back later; any other answer outside 2xx is final.
 */
export function classifyWebhookError(error: unknown): FailureClass {
  if (error instanceof WebhookHttpError) {
    if (error.status === 401 || error.status === 403) return { kind: 'credentials', reason: `webhook HTTP ${error.status}` };
    const transient = error.status === 429 || error.status >= 500;
    return { kind: transient ? 'transient' : 'permanent', reason: `webhook HTTP ${error.status}` };
  }
  return classifyNetworkError(error, 'webhook');
}
