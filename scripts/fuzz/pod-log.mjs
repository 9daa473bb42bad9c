// Reads what the pod prints: crash signs, error-level lines, other plain output, and a tally of its
// structured log lines, so the report can say what the fuzzing made the pod log.
import { parseJsonOrNull } from './json.mjs';
import { Counter } from './stats.mjs';

/** Plain-text output of a dying Node process; JSON log lines are judged by level instead (they may quote client input). */
const CRASH_TEXT = /uncaught|unhandled ?rejection|\bFATAL\b|heap out of memory/i;
const MAX_SAMPLES = 5;
/** Bounds the memory of the per-line socket sets on a long run. */
const MAX_SOCKETS_PER_KEY = 100_000;

/** Keeps the first few distinct texts, with how often each came. */
function sample(samples, text) {
  const key = text.slice(0, 300);
  if (samples.has(key)) samples.set(key, samples.get(key) + 1);
  else if (samples.size < MAX_SAMPLES) samples.set(key, 1);
}

/** One per run: every pod's lines, a restarted one's too, go to the same tallies. */
export class LogWatch {
  errorLines = 0;
  errorSamples = new Map();
  plainLines = 0;
  plainSamples = new Map();
  tally = new Counter();
  /** Per tally key, the sockets its lines named: many lines from few sockets is a pattern of its own. */
  sockets = new Map();

  /** Returns a crash sign, or null. */
  see(line) {
    const entry = line.startsWith('{') ? parseJsonOrNull(line) : null;
    if (entry === null) {
      if (line.trim() === '') return null;
      this.plainLines += 1;
      sample(this.plainSamples, line);
      return CRASH_TEXT.test(line) ? line : null;
    }
    const { level, message, context } = entry;
    if (typeof message === 'object' && message !== null && typeof message.msg === 'string') {
      const detail = message.why ?? message.code;
      const key = `${level} ${context}: ${message.msg}${detail === undefined ? '' : ` (${detail})`}`;
      this.tally.add(key);
      if (typeof message.socketId === 'string') {
        if (!this.sockets.has(key)) this.sockets.set(key, new Set());
        const seen = this.sockets.get(key);
        if (seen.size < MAX_SOCKETS_PER_KEY) seen.add(message.socketId);
      }
    }
    if (level !== 'error' && level !== 'fatal') return null;
    this.errorLines += 1;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    // Where it was thrown says more than the message: the first frame of the stack, when there is one.
    const at = typeof entry.error?.stack === 'string' ? /\n\s+(at .*)/.exec(entry.error.stack)?.[1] : undefined;
    sample(this.errorSamples, `${context}: ${text.slice(0, 200)}${at === undefined ? '' : ` (${at})`}`);
    return level === 'fatal' || /uncaught|unhandled ?rejection/i.test(text) ? line : null;
  }
}
