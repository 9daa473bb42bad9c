import { hostname } from 'node:os';

/** Where this process runs: the default pod id is derived from it when POD_NAME is unset. */
export interface ProcessIdentity {
  readonly hostname: string;
  readonly pid: number;
}

/** The one place config reads the live process, so `parseConfig` stays a function of its arguments. */
export function currentProcessIdentity(): ProcessIdentity {
  return { hostname: hostname(), pid: process.pid };
}
