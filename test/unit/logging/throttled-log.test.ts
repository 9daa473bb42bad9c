import { LINES_PER_SECOND, ThrottledLog } from '../../../src/logging/throttled-log.js';

const T0 = 1_700_000_000_000;

function recorder() {
  const lines: { level: string; entry: Record<string, unknown> }[] = [];
  const logger = {
    log: (entry: Record<string, unknown>) => void lines.push({ level: 'log', entry }),
    warn: (entry: Record<string, unknown>) => void lines.push({ level: 'warn', entry }),
  };
  // The count's line, run when the test says (a timer COUNT_AFTER_MS later in the service).
  const due: (() => void)[] = [];
  const runDue = (): void => {
    for (const run of due.splice(0)) run();
  };
  return { lines, log: new ThrottledLog(logger, LINES_PER_SECOND, (run) => void due.push(run)), due, runDue };
}

describe('ThrottledLog', () => {
  it('writes a burst of twice the rate of one kind at once, then only counts', () => {
    const { lines, log } = recorder();
    for (let i = 0; i < 1000; i += 1) log.write('rate_limited', { msg: 'refused', i }, T0);
    expect(lines).toHaveLength(2 * LINES_PER_SECOND);
    expect(lines.map(({ entry }) => entry.i)).toEqual(Array.from({ length: 2 * LINES_PER_SECOND }, (_, i) => i));
  });

  it('says how many lines of the kind it left out on the next one it writes, then starts counting again', () => {
    const { lines, log } = recorder();
    for (let i = 0; i < 2 * LINES_PER_SECOND + 7; i += 1) log.write('invalid_payload', { msg: 'refused' }, T0);
    log.write('invalid_payload', { msg: 'refused', last: true }, T0 + 1000 / LINES_PER_SECOND);
    expect(lines.at(-1)!.entry).toEqual({ msg: 'refused', last: true, notLogged: 7 });
    log.write('invalid_payload', { msg: 'refused' }, T0 + 2000 / LINES_PER_SECOND);
    expect(lines.at(-1)!.entry).toEqual({ msg: 'refused' });
  });

  it("writes the count of a flood's last lines on a line of its own when no line of the kind came to say it", () => {
    const { lines, log, due, runDue } = recorder();
    for (let i = 0; i < 100; i += 1) log.write('rate_limited', { msg: 'refused' }, T0);
    for (let i = 0; i < 50; i += 1) log.write('store call failed', { msg: 'store call failed' }, T0, 'warn');
    expect(due).toHaveLength(1); // one for all kinds
    runDue();
    expect(lines.slice(-2)).toEqual([
      { level: 'log', entry: { msg: 'lines not logged', kind: 'rate_limited', notLogged: 100 - 2 * LINES_PER_SECOND } },
      { level: 'warn', entry: { msg: 'lines not logged', kind: 'store call failed', notLogged: 50 - 2 * LINES_PER_SECOND } },
    ]);
    // Counted once: the kind's next line does not say them again, and nothing is due until a line is left out.
    log.write('rate_limited', { msg: 'refused' }, T0 + 1000);
    expect(lines.at(-1)!.entry).toEqual({ msg: 'refused' });
    expect(due).toHaveLength(0);
  });

  it('holds each kind to its own budget: a flood of one code leaves the others logged', () => {
    const { lines, log } = recorder();
    for (let i = 0; i < 500; i += 1) log.write('rate_limited', { code: 'rate_limited' }, T0);
    log.write('unauthorized', { code: 'unauthorized' }, T0);
    expect(lines.at(-1)!.entry).toEqual({ code: 'unauthorized' });
  });

  it('sustains its rate over time, at the level asked for', () => {
    const { lines, log } = recorder();
    // 100 a second for 10 s: the burst, then LINES_PER_SECOND a second.
    for (let ms = 0; ms < 10_000; ms += 10) log.write('unavailable', { msg: 'store call failed' }, T0 + ms, 'warn');
    expect(lines.length).toBeGreaterThanOrEqual(2 * LINES_PER_SECOND + 9 * LINES_PER_SECOND);
    expect(lines.length).toBeLessThanOrEqual(2 * LINES_PER_SECOND + 10 * LINES_PER_SECOND);
    expect(new Set(lines.map(({ level }) => level))).toEqual(new Set(['warn']));
    const counted = lines.reduce((sum, { entry }) => sum + ((entry.notLogged as number | undefined) ?? 0), 0);
    expect(counted + lines.length).toBeLessThanOrEqual(1000);
    expect(counted + lines.length).toBeGreaterThan(1000 - 1000 / LINES_PER_SECOND / 10);
  });
});
