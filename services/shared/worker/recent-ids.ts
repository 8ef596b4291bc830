/**
 * Ids this worker process delivered recently, bounded by count (least recently added dropped first). A message
 * delivered again (a redelivery after a broker restart, a client's retry with the same idempotency key) is skipped
 * when its id is still here. Per process and in memory: a duplicate that reaches another replica, or arrives after
 * a restart or after `capacity` newer ids, is delivered again; at-least-once remains the promise.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.capacity <= 0) return;
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
  }

  get size(): number {
    return this.ids.size;
  }
}
