import type { Logger } from '../logger/logger';

/**
 * Last-resort handlers, installed on purpose: an unhandled rejection is logged and the process keeps serving
 * (every broker and provider call already has its own error path), while an uncaught exception leaves the process
 * in an unknown state, so it is logged and the process exits for PM2 to restart it.
 */
export function installProcessHandlers(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
}
