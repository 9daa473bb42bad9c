import { checkTiming, defaultPingIntervalMs, defaultPingTimeoutMs, type Timing } from '../../../src/config/timing-rules.js';

const SOUND: Timing = {
  heartbeatIntervalMs: 50_000,
  presenceTtlMs: 110_000,
  lbIdleTimeoutMs: 60_000,
  pingIntervalMs: 25_000,
  pingTimeoutMs: 20_000,
};

describe('checkTiming', () => {
  it('accepts the contract defaults silently', () => {
    expect(checkTiming(SOUND)).toEqual({ errors: [], warnings: [] });
  });

  it.each<[string, Partial<Timing>, number, number]>([
    ['heartbeat equal to the LB timeout', { heartbeatIntervalMs: 60_000, presenceTtlMs: 200_000 }, 1, 0],
    ['heartbeat over the TTL', { heartbeatIntervalMs: 20_000, presenceTtlMs: 10_000 }, 1, 0],
    ['ping interval + timeout equal to the LB timeout', { pingIntervalMs: 40_000, pingTimeoutMs: 20_000 }, 1, 0],
    ['heartbeat margin of 9 %', { heartbeatIntervalMs: 54_600, presenceTtlMs: 200_000 }, 0, 1],
    ['ping margin of 5 %', { pingIntervalMs: 37_000, pingTimeoutMs: 20_000 }, 0, 1],
    ['TTL under twice the heartbeat', { presenceTtlMs: 99_999 }, 0, 1],
    ['TTL exactly twice the heartbeat', { presenceTtlMs: 100_000 }, 0, 0],
    // A broken rule is not also warned about as a thin margin.
    ['heartbeat over the LB timeout and the TTL', { heartbeatIntervalMs: 120_000 }, 2, 0],
  ])('%s: %j gives %i errors and %i warnings', (_name, change, errorCount, warningCount) => {
    const found = checkTiming({ ...SOUND, ...change });
    expect(found.errors).toHaveLength(errorCount);
    expect(found.warnings).toHaveLength(warningCount);
  });

  // Every rule breaks when all operands are present; each row removes one operand (an unparsed variable).
  const allBroken: Timing = { heartbeatIntervalMs: 100, presenceTtlMs: 50, lbIdleTimeoutMs: 100, pingIntervalMs: 80, pingTimeoutMs: 80 };
  it.each<[keyof Timing, string[]]>([
    ['lbIdleTimeoutMs', ['HEARTBEAT_INTERVAL_MS (100) must be less than PRESENCE_TTL_MS']],
    ['heartbeatIntervalMs', ['PING_INTERVAL_MS + PING_TIMEOUT_MS']],
    ['presenceTtlMs', ['HEARTBEAT_INTERVAL_MS (100) must be less than LB_IDLE_TIMEOUT_MS', 'PING_INTERVAL_MS + PING_TIMEOUT_MS']],
    ['pingIntervalMs', ['HEARTBEAT_INTERVAL_MS (100) must be less than LB_IDLE_TIMEOUT_MS', 'HEARTBEAT_INTERVAL_MS (100) must be less than PRESENCE_TTL_MS']],
    ['pingTimeoutMs', ['HEARTBEAT_INTERVAL_MS (100) must be less than LB_IDLE_TIMEOUT_MS', 'HEARTBEAT_INTERVAL_MS (100) must be less than PRESENCE_TTL_MS']],
  ])('without %s only the rules not needing it are checked', (missing, expected) => {
    const found = checkTiming({ ...allBroken, [missing]: undefined });
    expect(found.errors.map((error, i) => error.startsWith(expected[i] ?? '?'))).toEqual(expected.map(() => true));
  });

  it('names all three variables in the ping rule', () => {
    const [error] = checkTiming({ ...SOUND, pingIntervalMs: 50_000 }).errors;
    expect(error).toMatch(/PING_INTERVAL_MS.*PING_TIMEOUT_MS.*LB_IDLE_TIMEOUT_MS/);
  });
});

describe('derived ping defaults', () => {
  it.each([
    [60_000, 25_000, 20_000],
    [1_500, 625, 500],
    [600_000, 25_000, 20_000],
    [1, 1, 1],
  ])('LB %i → interval %i, timeout %i', (lb, interval, timeout) => {
    expect(defaultPingIntervalMs(lb)).toBe(interval);
    expect(defaultPingTimeoutMs(lb)).toBe(timeout);
  });

  it.each([300, 1_000, 1_500, 12_000, 59_999, 60_000, 61_000])('LB %i: derived pings pass the rule with a 10 %% margin', (lb) => {
    const found = checkTiming({ lbIdleTimeoutMs: lb, pingIntervalMs: defaultPingIntervalMs(lb), pingTimeoutMs: defaultPingTimeoutMs(lb) });
    expect(found).toEqual({ errors: [], warnings: [] });
  });
});
