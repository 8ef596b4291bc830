import type { FailureClass } from '../shared/worker/provider';
import { classifyNetworkError } from '../shared/worker/network-errors';

/** Raised when the server accepted the message for some recipients but refused others. */
export class PartialRejectionError extends Error {
  readonly code = 'EPARTIAL';
  constructor(readonly rejected: number, readonly accepted: number) {
    super(`smtp refused ${rejected} of ${rejected + accepted} recipients`);
  }
}

/**
 * nodemailer's errors carry the SMTP `responseCode` when the server answered: 4xx is a temporary refusal
 * (greylisting, mailbox busy, rate limit) and is retried; 5xx is final. Without a response code the connection
 * itself failed (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS): transient. A partial rejection is permanent for the
 * refused recipients and reported as such. https://nodemailer.com/smtp/#error-handling (RFC 5321 §4.2.1)
 */
export function classifySmtpError(error: unknown): FailureClass {
  if (error instanceof PartialRejectionError) return { kind: 'permanent', reason: error.message };
  // EAUTH: the login failed; 530 "authentication required" / 535 "credentials invalid" (RFC 4954): our account.
  const authCode = (error as { code?: unknown })?.code;
  const authResponse = (error as { responseCode?: unknown })?.responseCode;
  if (authCode === 'EAUTH' || authResponse === 530 || authResponse === 535) {
    return { kind: 'credentials', reason: `smtp ${typeof authResponse === 'number' ? `${authResponse} ` : ''}${typeof authCode === 'string' ? authCode : 'auth'}`.trim() };
  }
  const responseCode = (error as { responseCode?: unknown })?.responseCode;
  if (typeof responseCode === 'number') {
    const kind = responseCode >= 500 ? 'permanent' : responseCode >= 400 ? 'transient' : 'transient';
    const code = (error as { code?: unknown }).code;
    return { kind, reason: `smtp ${responseCode}${typeof code === 'string' ? ` ${code}` : ''}` };
  }
  const code = (error as { code?: unknown })?.code;
  if (code === 'EENVELOPE' || code === 'EMESSAGE') return { kind: 'permanent', reason: `smtp ${code}` };
  return classifyNetworkError(error, 'smtp');
}
