/** HTTP probes shared by the tests, the benchmark and the chaos run. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The status `url` answers with, or undefined when it does not answer within 2 s. */
export async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/** Waits until every URL answers 200; throws naming the first one that did not, or when `alive()` turns false. */
export async function waitReady(urls: string[], timeoutMs = 60_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    while ((await httpStatus(url)) !== 200) {
      if (!alive()) throw new Error(`the stack exited while waiting for ${url}`);
      if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
      await sleep(200);
    }
  }
}
