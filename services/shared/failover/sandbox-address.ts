/** Where the sandbox listens, natively (`make dev`, tests) and in compose (service `sandbox`). */
const SANDBOX_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', 'sandbox'];
/** The sandbox's HTTP port (Twilio-compatible API, webhook sinks) and its SMTP port. */
export const SANDBOX_HTTP_PORT = 8025;
export const SANDBOX_SMTP_PORT = 2525;

/** True when `url` names the sandbox on `port`; an empty or unparsable URL (a real provider's default) is not it. */
export function pointsAtSandbox(url: string | undefined, port: number): boolean {
  if (!url) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return SANDBOX_HOSTS.includes(parsed.hostname) && Number(parsed.port) === port;
}
