import { waitFor } from '../lib/wait-for';
import { sandboxMessages } from '../chaos/stack-http';

export interface DeliveryCount {
  accepted: number;
  delivered: number;
  /** Deliveries beyond the first of an accepted id (at-least-once: kills and restarts cause some). */
  duplicates: number;
  lost: string[];
}

/** Compares the ids answered 202 with what the sandbox received. */
export async function countDeliveries(accepted: Iterable<string>): Promise<DeliveryCount> {
  const seen = new Map<string, number>();
  for (const m of await sandboxMessages()) if (m.id) seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
  const ids = [...accepted];
  const lost = ids.filter((id) => !seen.has(id));
  const duplicates = ids.reduce((sum, id) => sum + Math.max(0, (seen.get(id) ?? 0) - 1), 0);
  return { accepted: ids.length, delivered: ids.length - lost.length, duplicates, lost };
}

/** Waits until every accepted id reached the sandbox; returns the final count (lost empty) or throws. */
export async function waitAllDelivered(accepted: Iterable<string>, timeoutMs: number): Promise<DeliveryCount> {
  // Taken once: an iterator (Map.keys()) would be empty on the second poll and every id would count as delivered.
  const ids = [...accepted];
  if (ids.length === 0) throw new Error('nothing to wait for: no message was accepted');
  return waitFor(`${ids.length} accepted messages at the sandbox`, async () => {
    const count = await countDeliveries(ids);
    if (count.lost.length === 0) return count;
    throw new Error(`${count.lost.length} of ${count.accepted} accepted messages not at the sandbox (first: ${count.lost.slice(0, 3).join(', ')})`);
  }, timeoutMs, 1000);
}
