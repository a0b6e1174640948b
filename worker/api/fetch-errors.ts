// What the two clients of the ops-api function (the worker's HTTPS store and the editor's) share about calls that did
// not get an answer: the reason in a few words, and a wait that ends early when the client closes.

/** "ECONNREFUSED", "fetch failed: getaddrinfo ENOTFOUND …": the network's reason for a fetch that got no answer. */
export function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
