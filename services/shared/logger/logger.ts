import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * One JSON logger per process, on stdout (PM2 and Docker collect stdout). The service name and, for the app,
 * the PM2 instance id are bound once so every line says where it came from.
 */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const instance = process.env.NODE_APP_INSTANCE;
  return pino({
    level,
    base: { service, pid: process.pid, ...(instance === undefined ? {} : { instance }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
