import type { FailureClass } from './provider';

/** undici's own timeouts (services/shared/http/provider-http.ts) carry codes, not the name fetch gives them. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Errors raised before any answer from the provider (refused, reset, DNS, timeouts) are transient: the same
 * request may well succeed later. Anything unrecognised is treated as transient too: retries are bounded, and an
 * unknown failure ends in the dead-letter queue with its reason rather than being dropped.
 */
export function classifyNetworkError(error: unknown, provider: string): FailureClass {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError' || TIMEOUT_CODES.has(code as string)) return { kind: 'transient', reason: `${provider} timeout` };
    if (typeof code === 'string' && code !== '') return { kind: 'transient', reason: `${provider} ${code}` };
    current = (current as { cause?: unknown }).cause;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'transient', reason: `${provider} error: ${message.slice(0, 200)}` };
}
