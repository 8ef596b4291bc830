import type { ChaosResult } from './run';

/** The summary `make chaos` prints: one figure per line, then what is known about up to 10 lost ids. */
export function formatResult(result: ChaosResult): string {
  const lines = [
    `accepted: ${result.accepted}`,
    `delivered: ${result.delivered}`,
    `lost: ${result.lost}`,
    `duplicates: ${result.duplicates}`,
    `duplicates by channel: ${JSON.stringify(result.duplicatesByChannel)}`,
    `dead-lettered: ${result.deadLettered}`,
    `dead-letter reasons: ${JSON.stringify(result.deadReasons)}`,
    `503s: ${result.load.unavailable503}`,
    `network errors: ${result.load.networkErrors}`,
    `given up: ${result.load.gaveUp}`,
    `unexpected statuses: ${JSON.stringify(Object.fromEntries(result.load.unexpected))}`,
    `delivered or dead but never answered 202: ${result.unacknowledged}`,
    `drained: ${result.drain.drained} (${result.drain.waitedMs} ms)`,
    `elapsed: ${(result.elapsedMs / 1000).toFixed(1)} s`,
    `pm2 output: ${result.logFile}`,
  ];
  for (const lost of result.lostSample) {
    lines.push(
      `lost ${lost.id}: ${lost.channel} to ${lost.recipient} recipient, accepted at ${((lost.acceptedAt - result.startedAt) / 1000).toFixed(1)} s after ${lost.attempts} attempt(s); ` +
        `in queues: ${lost.inQueues.join(', ') || 'none'}; log lines: ${lost.logLines.length}`,
    );
    for (const line of lost.logLines) lines.push(`    ${line}`);
  }
  return lines.join('\n');
}
