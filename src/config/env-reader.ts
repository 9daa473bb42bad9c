/** The environment as parse sees it: a plain record, so tests pass literals instead of touching `process`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** How an integer variable is checked and how its problems are worded. */
export interface IntegerSpec {
  readonly min: number;
  readonly max: number;
  /** What a valid value is, e.g. "a whole number of milliseconds". */
  readonly expected: string;
  /** Wording when the value is below `min`. @default `expected` */
  readonly tooSmall?: string;
  /** Wording when the value is above `max`. @default `expected` */
  readonly tooLarge?: string;
}

/** Outcome of parsing one raw value that needs more than an integer check. */
export type ValueCheck<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * Reads variables and collects one message per invalid variable instead of stopping at the first, so an
 * operator fixes a deployment in one round. An invalid variable reads as `undefined`, which lets the
 * caller skip the rules that depend on it instead of reporting follow-on noise.
 */
export class EnvReader {
  readonly errors: string[] = [];

  constructor(private readonly env: Env) {}

  /** The raw value; '' counts as unset because `VAR=` in a shell or an env file means "not set". */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  /**
   * A whole number written in plain decimal digits: "1e3", "10.5", "-1" and " 5" are refused rather than
   * coerced, because `Number()` would accept some of them and silently change what the operator meant.
   * A `fallback` of `undefined` means the default could not be computed (its source variable is invalid and
   * already reported), so an unset variable then reads as `undefined` without a second message.
   */
  integer(name: string, fallback: number | undefined, spec: IntegerSpec): number | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) return this.fail(`${name} must be ${spec.expected}, got ${quote(raw)}`);
    const value = Number(raw);
    if (value < spec.min) return this.fail(`${name} must be ${spec.tooSmall ?? spec.expected}, got ${quote(raw)}`);
    if (value > spec.max) return this.fail(`${name} must be ${spec.tooLarge ?? spec.expected}, got ${quote(raw)}`);
    return value;
  }

  /** A value checked by `check`; `check` words its own message and is trusted not to echo secrets. */
  checked<T>(name: string, fallback: T, check: (raw: string) => ValueCheck<T>): T | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const result = check(raw);
    return result.ok ? result.value : this.fail(result.error);
  }

  private fail(message: string): undefined {
    this.errors.push(message);
    return undefined;
  }
}

/** Quotes a value for a message; JSON escaping keeps stray control characters and newlines visible. */
export function quote(raw: string): string {
  return JSON.stringify(raw);
}
