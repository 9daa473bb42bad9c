import { fileURLToPath } from 'node:url';
import { spawnTracked } from '../../helpers/spawn.js';
import { waitUntil } from '../../helpers/timing.js';
import { CLIENT_CPUS, pin } from './cpu-pinning.js';

const SCRIPT = fileURLToPath(new URL('./control-streamer-process.mjs', import.meta.url));

/** How the control streamer was served over a stretch of time. */
export interface ControlService {
  readonly acks: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Of the slowest round trip, the part before the store renewed the lease (the rest is the way back). */
  readonly slowestToStoreMs: number;
  /** When the three slowest heartbeats were sent, in seconds since `mark`: whether they came in one burst, and when. */
  readonly slowestSentAtS: number[];
  /** Heartbeats refused or never acked. */
  readonly failures: string[];
  /** Disconnect reasons (none expected). */
  readonly disconnects: string[];
  /** The control process's own longest event-loop delay: how late it may have read an ack itself. */
  readonly loopDelayMaxMs: number;
}

interface Sample {
  readonly at: number;
  readonly rttMs?: number;
  readonly toStoreMs?: number;
  /** When the control process sent it (its own clock reading; the Jest process reads lines late when busy). */
  readonly sentWall?: number;
  readonly failed?: string;
  readonly disconnect?: string;
  readonly loopDelayMaxMs?: number;
}

/** Control streamers connected at once, each heartbeating every {@link CONTROL_EVERY_MS}. */
export const CONTROL_STREAMERS = 4;
/** 8 heartbeats a second each, within the default budget of 10 a connection: 32 samples a second in all. */
export const CONTROL_EVERY_MS = 125;

/**
 * Streamers heartbeating from their own process and address (the trials had one, every 250 ms;
 * four at 125 ms give a percentile over a few seconds enough samples), whose acks tell whether the pod
 * still serves others. `servedSince(mark)` summarises every heartbeat answered after `mark` (a Date.now()).
 */
export class ControlStreamer {
  private readonly samples: Sample[] = [];
  private ready = false;
  private refusal: string | undefined;

  private constructor() {}

  static async start(url: string, tokens: readonly string[]): Promise<ControlStreamer> {
    const control = new ControlStreamer();
    const child = spawnTracked(process.execPath, [SCRIPT], {
      env: { PATH: process.env.PATH, CONTROL_URL: url, CONTROL_TOKENS: tokens.join(','), CONTROL_ADDRESS: '198.51.100.10', CONTROL_EVERY_MS: String(CONTROL_EVERY_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    pin(child.pid!, CLIENT_CPUS);
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) control.take(JSON.parse(line) as Record<string, unknown>);
    });
    await waitUntil(() => control.ready || control.refusal !== undefined, 10_000, 20);
    if (control.refusal !== undefined) throw new Error(`the control streamer was refused: ${control.refusal}`);
    return control;
  }

  private take(record: Record<string, unknown>): void {
    if (record.ready === true) this.ready = true;
    else if (record.connectError !== undefined) this.refusal = String(record.connectError);
    else this.samples.push({ at: Date.now(), ...record });
  }

  servedSince(mark: number): ControlService {
    const window = this.samples.filter((s) => s.at >= mark);
    const rtts = window.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs])).sort((a, b) => a - b);
    const slowestFirst = window.flatMap((s) => (s.rttMs === undefined ? [] : [s as Sample & { rttMs: number }])).sort((a, b) => b.rttMs - a.rttMs);
    const at = (q: number): number => (rtts.length === 0 ? Number.NaN : rtts[Math.min(rtts.length - 1, Math.ceil(q * rtts.length) - 1)]!);
    return {
      acks: rtts.length,
      p50Ms: Math.round(at(0.5)),
      p99Ms: Math.round(at(0.99)),
      maxMs: Math.round(rtts.at(-1) ?? Number.NaN),
      slowestToStoreMs: Math.round(slowestFirst[0]?.toStoreMs ?? Number.NaN),
      slowestSentAtS: slowestFirst.slice(0, 3).map((s) => Math.round(((s.sentWall ?? s.at - s.rttMs) - mark) / 100) / 10),
      failures: window.flatMap((s) => (s.failed === undefined ? [] : [s.failed])),
      disconnects: window.flatMap((s) => (s.disconnect === undefined ? [] : [s.disconnect])),
      loopDelayMaxMs: Math.round(Math.max(0, ...window.flatMap((s) => (s.loopDelayMaxMs === undefined ? [] : [s.loopDelayMaxMs])))),
    };
  }
}
