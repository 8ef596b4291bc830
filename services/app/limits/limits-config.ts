import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { logLevelVar, portVar } from '../../shared/config/load-config';

/**
 * Where app-limits listens and the API instances connect: in the temp folder, named after the API's PORT so two
 * stacks on one machine (tests beside `make dev`) keep apart, like METRICS_SOCKET_DIR. In the container that is the
 * /tmp tmpfs (the root filesystem is read-only). A unix socket path has at most 107 bytes on Linux.
 */
export function defaultLimitsSocket(port: number): string {
  return path.join(os.tmpdir(), `relay-app-limits-${port}.sock`);
}

/** LIMITS_SOCKET as both sides read it: empty or unset is the default for PORT. */
export const limitsSocketVar = z.string().max(107).optional();

/** app-limits' own config: it reads PORT only to find the same default socket path as the app. */
export const limitsConfigSchema = z
  .object({
    PORT: portVar(8080),
    /** The unix socket the counters are served on (services/app/limits/limits-server.ts). */
    LIMITS_SOCKET: limitsSocketVar,
    LOG_LEVEL: logLevelVar,
  })
  .transform((config) => ({ ...config, LIMITS_SOCKET: config.LIMITS_SOCKET || defaultLimitsSocket(config.PORT) }));

export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
