import type { Logger } from '../shared/logger/logger';
import { backoffDelayMs } from '../shared/messaging/backoff';

/** Runs `attempt` until it succeeds, with backoff (250 ms doubling to 10 s); logs the first failure and the recovery. */
export async function waitForDatabase(logger: Logger, attempt: () => Promise<void>): Promise<void> {
  for (let failures = 0; ; failures += 1) {
    try {
      await attempt();
      if (failures > 0) logger.info({ failures }, 'status database reachable');
      return;
    } catch (error) {
      if (failures === 0) logger.error({ err: error }, 'status database not reachable (or migrations failed); trying again with backoff');
      await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(failures, 250, 10_000)));
    }
  }
}
