import type { Meta, PresenceState } from '../domain/presence-state.js';
import { neverSeen } from '../domain/presence-state.js';
import { type ConnectionLeaseView, OFFLINE_RETENTION_MS, type OnlinePage, type PresenceStore, type StoreResult } from '../domain/presence-store.port.js';
import type { PresenceTiming, StreamerRecord, Transition } from '../domain/streamer-record.js';
import * as rules from '../domain/streamer-record.js';
import { TIMELINE_LENGTH, type TimelineEntry, timelineEntry } from '../domain/timeline.js';
import { MemoryTransitionLog } from './memory-transition-log.js';
import { MinHeap } from './min-heap.js';
import { SortedIdSet } from './sorted-id-set.js';

/** EVENT_LOG_RETENTION_MS's default. */
const DEFAULT_LOG_RETENTION_MS = 86_400_000;

interface Deadline {
  readonly at: number;
  readonly streamerId: string;
}

/** A streamer that went offline, to forget at `at` unless it has changed since (`version`). */
interface Forgettable extends Deadline {
  readonly version: number;
}

/**
 * The embedded store: presence in this process's memory, for a SINGLE NODE only (no other pod can see
 * it, and it is gone when the process exits; versions still rise across restarts, being tied to time).
 * Streamers offline for OFFLINE_RETENTION_MS are forgotten, so memory follows the active streamers.
 * Each operation runs synchronously on the event loop, which makes it atomic. Deadlines sit in a heap,
 * at most one live entry per streamer (`scheduled`): a heartbeat moves a deadline later, which needs no
 * new entry (the sweep finds the later one when the entry comes due, and schedules that instead), so a
 * heartbeat costs no heap push; an earlier deadline gets a new entry and the old one is skipped.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly records = new Map<string, StreamerRecord>();
  private readonly deadlines = new MinHeap<Deadline>();
  /** The streamer's live entry in `deadlines` (its `at`); any other entry of the streamer is stale. */
  private readonly scheduled = new Map<string, number>();
  private readonly online = new SortedIdSet();
  private readonly timelines = new Map<string, TimelineEntry[]>();
  // When each offline streamer may be forgotten, at most one entry per streamer (a flapping streamer
  // moves its entry, it does not add one), in time order: every entry is its transition + the same
  // retention, and re-inserting moves a key to the end of a Map.
  private readonly forgettable = new Map<string, Forgettable>();

  /**
   * @param log the transition log this store appends every event to, in the same synchronous step as
   *   the change @default a log of its own keeping a day
   */
  constructor(
    private readonly timing: PresenceTiming,
    private readonly clock: () => number = Date.now,
    private readonly pod = 'local',
    readonly log: MemoryTransitionLog = new MemoryTransitionLog(DEFAULT_LOG_RETENTION_MS, clock),
  ) {}

  async connect(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.apply(streamerId, (record, now) => rules.connect(record, connectionId, now, this.timing));
  }

  async heartbeat(streamerId: string, connectionId: string, meta?: Meta, silentForMs = 0): Promise<StoreResult> {
    return this.heartbeatNow(streamerId, connectionId, meta, silentForMs);
  }

  /** `heartbeat`, answered before it returns; `heartbeat` is this (a subclass overriding this changes both). */
  heartbeatNow(streamerId: string, connectionId: string, meta?: Meta, silentForMs = 0): StoreResult {
    return this.apply(streamerId, (record, now) => rules.heartbeat(record, connectionId, now, this.timing, meta, silentForMs));
  }

  async disconnect(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.apply(streamerId, (record, now) => rules.close(record, connectionId, now, this.timing));
  }

  async end(streamerId: string, sentAt?: number): Promise<StoreResult> {
    return this.apply(streamerId, (record, now) => rules.end(record, now, this.timing, sentAt));
  }

  async settleLost(streamerId: string, since: number): Promise<StoreResult> {
    return this.apply(streamerId, (record, now) => rules.settleLost(record, since, now));
  }

  async expireDue(limit: number): Promise<StoreResult> {
    const now = this.clock();
    const events = [];
    let claimed = 0;
    while (claimed < limit) {
      const due = this.deadlines.peek();
      if (due === undefined || due.at > now) break;
      this.deadlines.pop();
      if (this.scheduled.get(due.streamerId) !== due.at) continue;
      this.scheduled.delete(due.streamerId);
      const record = this.records.get(due.streamerId);
      const deadline = record === undefined ? null : rules.nextDeadline(record);
      if (record === undefined || deadline === null) continue;
      if (deadline > now) {
        this.schedule(due.streamerId, deadline);
        continue;
      }
      claimed += 1;
      events.push(...this.save(rules.expire(record, now, this.timing), now));
    }
    this.forgetOffline(now);
    return { serverTime: now, events };
  }

  async getMany(streamerIds: readonly string[]): Promise<PresenceState[]> {
    return streamerIds.map((id) => this.records.get(id)?.state ?? neverSeen(id));
  }

  async listOnline(afterId: string | null, limit: number): Promise<OnlinePage> {
    const ids = this.online.after(afterId, limit + 1);
    const page = ids.slice(0, limit);
    const items = page.map((id) => this.records.get(id)!.state);
    return { items, lastId: ids.length > limit ? page[page.length - 1]! : null };
  }

  async countOnline(): Promise<number> {
    return this.online.size;
  }

  async connections(streamerId: string): Promise<ConnectionLeaseView[]> {
    const connections = this.records.get(streamerId)?.connections ?? {};
    return Object.entries(connections).map(([connectionId, { liveUntil, closed, parked }]) => ({ connectionId, liveUntil, closed, parked: parked === true }));
  }

  async timeline(streamerId: string, limit: number): Promise<TimelineEntry[]> {
    return (this.timelines.get(streamerId) ?? []).slice(0, limit);
  }

  private apply(streamerId: string, change: (record: StreamerRecord, now: number) => Transition): StoreResult {
    const now = this.clock();
    const record = this.records.get(streamerId) ?? rules.emptyRecord(streamerId);
    const transition = change(record, now);
    const events = this.save(transition, now);
    return transition.refused === undefined ? { serverTime: now, events } : { serverTime: now, events, refused: transition.refused };
  }

  private save(transition: Transition, now: number): Transition['events'] {
    const { previous, next } = transition;
    if (transition.events.length > 0) this.appendTimeline(next.state.streamerId, transition.events, now);
    for (const event of transition.events) this.log.append(event, now, this.pod);
    const streamerId = next.state.streamerId;
    this.records.set(streamerId, next);
    if (previous.state.status !== next.state.status) {
      if (next.state.status === 'online') this.online.add(streamerId);
      else this.online.delete(streamerId);
    }
    const deadline = rules.nextDeadline(next);
    const scheduled = this.scheduled.get(streamerId);
    if (deadline !== null && (scheduled === undefined || deadline < scheduled)) this.schedule(streamerId, deadline);
    if (transition.events.length > 0 && next.state.status === 'offline') {
      this.forgettable.delete(streamerId);
      this.forgettable.set(streamerId, { at: now + OFFLINE_RETENTION_MS, streamerId, version: next.state.version });
    }
    return transition.events;
  }

  private schedule(streamerId: string, at: number): void {
    this.deadlines.push({ at, streamerId });
    this.scheduled.set(streamerId, at);
  }

  /** Forgets streamers offline, with no connection and unchanged, for the whole retention. */
  private forgetOffline(now: number): void {
    for (const [streamerId, { at, version }] of this.forgettable) {
      if (at > now) break;
      this.forgettable.delete(streamerId);
      const record = this.records.get(streamerId);
      if (record === undefined || record.state.version !== version) continue;
      if (rules.nextDeadline(record) !== null) {
        // Still holding a connection (an open socket parked after its `end`): looked at again a retention
        // later. Its place going makes no event, so nothing else would put it back in line.
        this.forgettable.set(streamerId, { at: now + OFFLINE_RETENTION_MS, streamerId, version });
        continue;
      }
      this.records.delete(streamerId);
      this.timelines.delete(streamerId);
    }
  }

  /** Offline streamers waiting to be forgotten: at most one per streamer, whatever it does (diagnostics, tests). */
  get forgettableCount(): number {
    return this.forgettable.size;
  }

  /** Entries in the deadline heap, stale ones included (diagnostics, tests). */
  get deadlineEntries(): number {
    return this.deadlines.size;
  }

  private appendTimeline(streamerId: string, events: Transition['events'], now: number): void {
    const entries = this.timelines.get(streamerId) ?? [];
    for (const event of events) entries.unshift(timelineEntry(event, now, this.pod));
    entries.length = Math.min(entries.length, TIMELINE_LENGTH);
    this.timelines.set(streamerId, entries);
  }
}
