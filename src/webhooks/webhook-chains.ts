import type { LogEntry } from '../presence/domain/transition-log.js';
import { retryDelayMs } from './retry-backoff.js';

/** What the chains need from the outside: sending, acknowledging, and whether a shard may send now. */
export interface ChainDeps {
  /** One attempt; true when the receiver answered 2xx in time. */
  send(entry: LogEntry): Promise<boolean>;
  /** Marks the entry done in the log (delivered or dead-lettered). */
  ack(entry: LogEntry): Promise<void>;
  /** False while this pod cannot be sure it still holds the shard's lease: then nothing of it is sent. */
  mayDeliver(shard: number): boolean;
  /** An attempt's outcome; `attempts` counts this one. */
  onAttempt(entry: LogEntry, delivered: boolean, attempts: number): void;
  onDeadLetter(entry: LogEntry, attempts: number): void;
  onHeldChanged(held: number): void;
  readonly retentionMs: number;
  /** HTTP requests in flight at most. */
  readonly maxConcurrent: number;
  readonly random?: () => number;
}

/** One streamer's undelivered entries, in version order: only the first is ever being sent. */
interface Chain {
  readonly streamerId: string;
  readonly entries: LogEntry[];
  retries: number;
  timer: NodeJS.Timeout | null;
  sending: boolean;
  queued: boolean;
}

/** While a shard's lease is in doubt, its chains look again this often. */
const LEASE_DOUBT_RECHECK_MS = 500;

const keyOf = (entry: LogEntry): string => `${entry.shard}/${entry.id}`;

/**
 * The webhook delivery chains of one pod: per streamer in version order (a later entry waits until the
 * earlier one was acknowledged or dead-lettered), streamers independent of each other, each failure
 * retried with backoff until the retention has passed, then dead-lettered. At most `maxConcurrent`
 * requests at once; the rest wait their turn in order. An acknowledgement that fails is retried
 * (`retryAcks`), and its entry counts as held until then, so reading it back from the log does not
 * send it again.
 */
export class WebhookChains {
  private readonly chains = new Map<string, Chain>();
  private readonly keys = new Set<string>();
  private readonly perShard = new Map<number, number>();
  private readonly unacked = new Map<string, LogEntry>();
  private readonly queue: Chain[] = [];
  private inFlight = 0;
  private stopped = false;

  constructor(private readonly deps: ChainDeps) {}

  get held(): number {
    return this.keys.size;
  }

  heldIn(shard: number): number {
    return this.perShard.get(shard) ?? 0;
  }

  /** Queues an entry behind its streamer's earlier ones; an entry already held (or awaiting its ack) is ignored. */
  hold(entry: LogEntry): void {
    const key = keyOf(entry);
    if (this.stopped || this.keys.has(key) || this.unacked.has(key)) return;
    const streamerId = entry.event.streamerId;
    let chain = this.chains.get(streamerId);
    if (chain === undefined) {
      chain = { streamerId, entries: [], retries: 0, timer: null, sending: false, queued: false };
      this.chains.set(streamerId, chain);
    }
    chain.entries.push(entry);
    this.count(entry, +1);
    if (chain.entries.length === 1) this.ready(chain);
  }

  /** The entries of `shard` held here, not yet acknowledged by the receiver. */
  entriesIn(shard: number): LogEntry[] {
    return this.entries().filter((entry) => entry.shard === shard);
  }

  /** Every entry held here, not yet acknowledged by the receiver. */
  entries(): LogEntry[] {
    return [...this.chains.values()].flatMap((chain) => chain.entries);
  }

  /** Another pod owns `shard` now and sends its entries: forget them here. */
  dropShard(shard: number): void {
    for (const chain of [...this.chains.values()]) {
      const kept = chain.entries.filter((entry) => entry.shard !== shard);
      if (kept.length === chain.entries.length) continue;
      for (const entry of chain.entries) if (entry.shard === shard) this.count(entry, -1);
      chain.entries.splice(0, chain.entries.length, ...kept);
      this.reset(chain);
      if (kept.length === 0) this.chains.delete(chain.streamerId);
      else this.ready(chain);
    }
    for (const [key, entry] of this.unacked) if (entry.shard === shard) this.unacked.delete(key);
  }

  /**
   * Acknowledgements that failed, tried again in order, until one fails again: the rest wait for the
   * next round. Each failure is mostly Redis not answering, a command timeout each; trying all of them
   * held the dispatcher's loop, and with it a shutdown, for up to 500 timeouts in a row.
   */
  async retryAcks(): Promise<void> {
    for (const [key, entry] of [...this.unacked]) {
      const acked = await this.deps.ack(entry).then(() => true, () => false);
      if (!acked) return;
      this.unacked.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const chain of this.chains.values()) if (chain.timer !== null) clearTimeout(chain.timer);
  }

  /** The chain's first entry may be tried now: start it, or queue it behind the requests in flight. */
  private ready(chain: Chain): void {
    if (this.stopped || chain.sending || chain.queued || chain.timer !== null || chain.entries.length === 0) return;
    chain.queued = true;
    this.queue.push(chain);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.deps.maxConcurrent && this.queue.length > 0) {
      const chain = this.queue.shift()!;
      chain.queued = false;
      const entry = chain.entries[0];
      if (entry === undefined || this.chains.get(chain.streamerId) !== chain || this.stopped) continue;
      if (Date.now() - entry.at >= this.deps.retentionMs) {
        void this.deadLetter(chain, entry);
        continue;
      }
      if (!this.deps.mayDeliver(entry.shard)) {
        chain.timer = setTimeout(() => this.wake(chain), LEASE_DOUBT_RECHECK_MS);
        continue;
      }
      void this.attempt(chain, entry);
    }
  }

  private async attempt(chain: Chain, entry: LogEntry): Promise<void> {
    chain.sending = true;
    this.inFlight += 1;
    const delivered = await this.deps.send(entry).catch(() => false);
    this.inFlight -= 1;
    chain.sending = false;
    this.deps.onAttempt(entry, delivered, chain.retries + 1);
    if (chain.entries[0] === entry && !this.stopped) {
      if (delivered) {
        await this.done(chain, entry);
      } else {
        chain.retries += 1;
        const untilDeadLetter = entry.at + this.deps.retentionMs - Date.now();
        const delay = Math.min(retryDelayMs(chain.retries, (this.deps.random ?? Math.random)()), untilDeadLetter);
        chain.timer = setTimeout(() => this.wake(chain), Math.max(0, delay));
      }
    } else {
      this.ready(chain); // its entry was dropped meanwhile; the next, if any, goes on
    }
    this.pump();
  }

  private wake(chain: Chain): void {
    chain.timer = null;
    this.ready(chain);
  }

  private async deadLetter(chain: Chain, entry: LogEntry): Promise<void> {
    this.deps.onDeadLetter(entry, chain.retries + 1);
    await this.done(chain, entry);
  }

  /** The chain's first entry is delivered or given up on: acknowledged (or queued for it), then the next. */
  private async done(chain: Chain, entry: LogEntry): Promise<void> {
    chain.entries.shift();
    this.count(entry, -1);
    this.unacked.set(keyOf(entry), entry);
    this.reset(chain);
    if (chain.entries.length === 0) this.chains.delete(chain.streamerId);
    else this.ready(chain);
    await this.deps.ack(entry).then(() => this.unacked.delete(keyOf(entry)), () => undefined);
  }

  private reset(chain: Chain): void {
    chain.retries = 0;
    if (chain.timer !== null) clearTimeout(chain.timer);
    chain.timer = null;
  }

  private count(entry: LogEntry, delta: number): void {
    if (delta > 0) this.keys.add(keyOf(entry));
    else this.keys.delete(keyOf(entry));
    this.perShard.set(entry.shard, this.heldIn(entry.shard) + delta);
    this.deps.onHeldChanged(this.held);
  }
}
