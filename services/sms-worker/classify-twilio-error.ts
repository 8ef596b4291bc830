import type { FailureClass } from '../shared/worker/provider';
import { classifyNetworkError } from '../shared/worker/network-errors';

/** Twilio error codes that are permanent whatever the status says (hints only; the status class decides first). */
const PERMANENT_CODES = new Set([21211, 21212, 21408, 21610, 21614]);

/**
 * Twilio's errors: the SDK throws RestException with the HTTP `status` and Twilio's `code`.
 * 401 / code 20003 means our credentials are wrong (`credentials`); 429 and 5xx are transient; other 4xx (21211 invalid number, 21610 unsubscribed, ...) permanent.
 * No status means the request never got an answer: network errors and timeouts are transient.
 * https://www.twilio.com/docs/api/errors
 */
export function classifyTwilioError(error: unknown): FailureClass {
  const status = typeof (error as { status?: unknown })?.status === 'number' ? (error as { status: number }).status : undefined;
  const code = (error as { code?: unknown })?.code;
  const suffix = typeof code === 'number' ? ` code ${code}` : '';
  // 401 / 20003 "Authenticate": wrong account SID or auth token; every message would fail the same way.
  if (status === 401 || code === 20003) return { kind: 'credentials', reason: `twilio HTTP ${status ?? '-'}${suffix}` };
  if (status !== undefined) {
    if (status === 429 || status >= 500) return { kind: 'transient', reason: `twilio HTTP ${status}${suffix}` };
    if (status >= 400) return { kind: 'permanent', reason: `twilio HTTP ${status}${suffix}` };
  }
  if (typeof code === 'number' && PERMANENT_CODES.has(code)) return { kind: 'permanent', reason: `twilio${suffix}` };
  return classifyNetworkError(error, 'twilio');
}
