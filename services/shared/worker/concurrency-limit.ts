/**
 * At most `limit` tasks run at once; the rest wait in arrival order. Bounds the calls a worker makes to its
 * provider when one delivery is a group commit holding many items (prefetch alone bounds deliveries, not items).
 */
export function concurrencyLimit(limit: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    active -= 1;
    queue.shift()?.();
  };
  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      next();
    }
  };
}
