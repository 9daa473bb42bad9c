// A streamer whose ground truth is scripted: offline for a while, then live (heartbeats, meta changes,
// now and then a move to another network, i.e. a reconnect within the grace), then it ends, crashes
// (socket closed without `end`) or goes silent (socket open, no heartbeat). It records what it meant
// as LiveSpans, with the times the contract then promises.
import { io, type Socket } from 'socket.io-client';
import { signToken } from '../helpers/tokens.js';
import { cutAtLapse, endLastSpan, type LiveSpan, lossDeadline, type Reconnect, type SessionEnd } from './oracle.js';

export interface SoakTiming {
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly graceMs: number;
  /** How long a heartbeat may take to reach the store on the soak's busy machine (cutAtLapse). */
  readonly transitSlackMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class StreamerDriver {
  /** What it meant, before the reconnects are judged (cutAtReconnects, with the pods' close times). */
  readonly spans: LiveSpan[] = [];
  readonly reconnects: Reconnect[] = [];
  /** Each session's last socket and span end, to cut at a pod's close of that socket (cutAtPodClose). */
  readonly sessionEnds: SessionEnd[] = [];
  private socket: Socket | null = null;
  private lastAckAt = 0;
  /** When the store admitted the current connection (its session's `serverTime`). */
  private admittedAt = 0;
  /** When the heartbeat that began the current span after a lapse was sent (the span may begin later). */
  private lapseBeatAt = 0;
  /** When the last heartbeat (or connect, which counts as one) went out on the live connection. */
  private lastSentAt = 0;
  /** Heartbeats this client sent more than a TTL after the one before (cutAtLapse). */
  lapses = 0;
  private stopped = false;

  constructor(
    readonly id: string,
    private readonly url: string,
    private readonly timing: SoakTiming,
    private readonly random: () => number,
    /** The loopback address it connects from: each client its own, as behind a real load balancer. */
    private readonly localAddress: string,
  ) {}

  /** Runs its script until `endAt`, then ends any live span. */
  async run(endAt: number): Promise<void> {
    await sleep(this.random() * 20_000);
    while (!this.stopped && Date.now() < endAt - 5_000) {
      await this.liveOnce(Math.min(endAt, Date.now() + 15_000 + this.random() * 60_000));
      await sleep(2_000 + this.random() * 15_000);
    }
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
  }

  private async liveOnce(until: number): Promise<void> {
    const socket = io(`${this.url}/streamer`, {
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 1_500,
      // Passed on to `ws` by engine.io-client in Node (transports/websocket.js), though its types omit it.
      ...({ localAddress: this.localAddress } as object),
      auth: { token: signToken({ sub: this.id, role: 'streamer', expiresInSec: 24 * 3600 }) },
    });
    this.socket = socket;
    const session = new Promise<{ at: number; serverTime: number }>((resolve) => socket.once('session', ({ serverTime }: { serverTime: number }) => resolve({ at: Date.now(), serverTime })));
    const opened = await Promise.race([session, sleep(15_000).then(() => null)]);
    if (opened === null) {
      socket.close();
      return;
    }
    // Live from when the store admitted the connection (the session's serverTime, the same machine's
    // clock), which a generator stalled for seconds reads well after: a silent app's deadline is a TTL
    // after the admission, not after the read (RELIABILITY, finding 24).
    const from = Math.min(opened.at, opened.serverTime);
    this.lastAckAt = from;
    this.admittedAt = from;
    this.lapseBeatAt = from;
    this.lastSentAt = from;
    let socketId = socket.id ?? '';
    this.spans.push({ streamerId: this.id, from, until: Number.POSITIVE_INFINITY, ending: 'live' });
    // A connection lost (a move, a pod killed or drained) is recorded with its replacement; whether that
    // came too late to keep the streamer online is judged after the run (cutAtReconnects).
    // Set by the socket's handlers: declared so, TypeScript does not narrow it to null below.
    let lost = null as { socketId: string; noticedAt: number; lastBeatAt: number } | null;
    socket.on('disconnect', () => {
      lost ??= { socketId, noticedAt: Date.now(), lastBeatAt: this.lastBeatAt() };
    });
    socket.on('connect', () => {
      // Until its `session` tells when the store admitted it.
      this.lastSentAt = Date.now();
    });
    socket.on('session', ({ serverTime }: { serverTime: number }) => {
      this.lastSentAt = Math.min(this.lastSentAt, serverTime);
      this.admittedAt = serverTime;
      socketId = socket.id ?? '';
      if (lost !== null) this.reconnects.push({ streamerId: this.id, ...lost, backAt: serverTime });
      lost = null;
    });
    const beat = setInterval(() => this.beat(socket, this.random() < 0.02 ? { title: `t${Math.floor(this.random() * 5)}` } : undefined), this.timing.heartbeatMs);
    try {
      while (Date.now() < until && !this.stopped) {
        await sleep(Math.min(until - Date.now(), 5_000));
        // A move to another network: the transport drops and the client reconnects at once, within the grace.
        if (this.random() < 0.03 && socket.connected) {
          socket.io.engine.close();
        }
      }
    } finally {
      clearInterval(beat);
    }
    // An ending needs a connection to mean anything: wait a little for one after a pod was killed.
    for (let i = 0; i < 50 && !socket.connected; i += 1) await sleep(200);
    const roll = this.random();
    let ending: LiveSpan['ending'];
    let end: number;
    if (roll < 0.5 && socket.connected) {
      // Offline is due from when `end` was sent: the pod may take it, and answer, a while later; and one
      // answered `unavailable` is taken once the store is back (the third hour's 12 "false offlines",
      // finding 13 in RELIABILITY.md). An app that ended does not reconnect: that would be live again.
      socket.io.reconnection(false);
      const sentAt = Date.now();
      await socket.timeout(5_000).emitWithAck('end', {}).catch(() => null);
      ending = 'end';
      end = sentAt;
      socket.close();
    } else if (roll < 0.8 && socket.connected) {
      ending = 'crash';
      socket.close();
      end = Date.now() + this.timing.graceMs;
    } else {
      // Silent (or never reconnected): no heartbeat since the last acknowledged one. A hung app does not
      // reconnect either: a reconnect after a pod kill in these seconds is a connect, which the contract
      // counts as live again (finding 11 in RELIABILITY.md: 10 sightings of a "ghost" that had reconnected).
      socket.io.reconnection(false);
      ending = 'silent';
      end = this.lastBeatAt() + this.timing.ttlMs;
      await sleep(this.timing.ttlMs + 2_000);
      socket.close();
    }
    // Never back after a loss: offline allowed from the loss + grace, whatever the ending says.
    if (lost !== null) end = Math.min(end, lossDeadline(lost.noticedAt, lost.lastBeatAt, this.timing));
    this.spans.splice(0, this.spans.length, ...endLastSpan(this.spans, end, ending));
    this.sessionEnds.push({ streamerId: this.id, socketId: lost?.socketId ?? socketId, until: this.current().until });
  }

  private current(): LiveSpan {
    return this.spans[this.spans.length - 1]!;
  }

  /**
   * The last heartbeat the service took, as far as this client knows: the last one acknowledged (dated
   * when sent), the current connection's admission, or the heartbeat that ended a lapse (whose ack a
   * generator stalled for seconds may drop). Never before the current span's first heartbeat.
   */
  private lastBeatAt(): number {
    return Math.max(this.lastAckAt, this.admittedAt, this.lapseBeatAt);
  }

  private beat(socket: Socket, meta?: Record<string, string>): void {
    if (!socket.connected) return;
    const sentAt = Date.now();
    const lapse = cutAtLapse(this.current(), this.lastSentAt, sentAt, this.timing.ttlMs, this.timing.transitSlackMs);
    if (lapse !== null) {
      this.lapses += 1;
      this.spans.splice(-1, 1, lapse.ended, lapse.next);
      this.lapseBeatAt = sentAt;
    }
    this.lastSentAt = sentAt;
    socket.timeout(5_000).emit('heartbeat', meta === undefined ? {} : { meta }, (error: Error | null, ack: { ok?: boolean } | undefined) => {
      if (error === null && ack?.ok === true) this.lastAckAt = Math.max(this.lastAckAt, sentAt);
    });
  }
}
