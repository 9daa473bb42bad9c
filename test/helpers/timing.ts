/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `fn` every `intervalMs` until it returns (or resolves to) a truthy value, and resolves with that
 * value. Rejects after `timeoutMs`, with the last error `fn` threw, if any. Throwing counts as "not yet".
 * @default timeoutMs 5000, intervalMs 20
 */
export async function waitUntil<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`waitUntil: condition not met within ${timeoutMs} ms${why}`);
    }
    await sleep(intervalMs);
  }
}
