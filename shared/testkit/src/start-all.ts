/** Something a test starts: a server (`stop`) or a sink (`close`). */
type Stoppable = { stop(): Promise<void> } | { close(): Promise<void> };

/**
 * Starts several servers at once, as `Promise.all` would; but when one fails to start (a missing
 * `kcat` or `nats-server`, say), those that did start are stopped again before the error is
 * thrown, instead of outliving the test run because it never received their handles.
 */
export async function startAll<T extends readonly Stoppable[]>(starts: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const results = await Promise.allSettled(starts as readonly Promise<Stoppable>[]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (!failed)
    return results.map((r) => (r as PromiseFulfilledResult<Stoppable>).value) as unknown as T;
  await Promise.all(
    results.map((r) =>
      r.status === "fulfilled"
        ? ("stop" in r.value ? r.value.stop() : r.value.close()).catch(() => {})
        : undefined,
    ),
  );
  throw failed.reason;
}
