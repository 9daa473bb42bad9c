/**
 * Redis failures named by the component and operation that met them ("redis transition log: ack
 * failed: …"), so a log line says which part of the pod could not reach Redis. An error already named
 * by the same component is passed on as it is.
 */
export function componentError(component: string, operation: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith(`${component}:`)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${component}: ${operation} failed: ${message}`, { cause: error });
}

/** Runs `run`, naming whatever it throws (see `componentError`). */
export async function asComponent<T>(component: string, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw componentError(component, operation, error);
  }
}
