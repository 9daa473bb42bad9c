import type { Socket } from 'socket.io-client';
import type { AppProcess } from '../../helpers/app-process.js';
import { keepBeating, streamer } from '../../helpers/presence-clients.js';
import { resyncingViewer } from '../../helpers/resyncing-viewer.js';
import { waitUntil } from '../../helpers/timing.js';
import { operatorHeaders } from '../../helpers/tokens.js';
import type { WebhookReceiver } from '../../helpers/webhook-receiver.js';

/** Heartbeat interval of the pods in a failover story: the TTL is far longer, so an offline here is a bug. */
export const FAILOVER_TIMING = { HEARTBEAT_INTERVAL_MS: '1000', PRESENCE_TTL_MS: '10000', RECONNECT_GRACE_MS: '1000', LB_IDLE_TIMEOUT_MS: '4000' };
const HEARTBEAT_MS = Number(FAILOVER_TIMING.HEARTBEAT_INTERVAL_MS);
const STREAMERS = 50;

/** What a topology gives the story: its pods (ready), the webhook receiver they post to, and its failover. */
export interface FailoverSetting {
  readonly name: string;
  readonly pods: readonly AppProcess[];
  readonly receiver: WebhookReceiver;
  /** SIGKILLs the primary (one holding shards, on a Cluster). */
  kill(): Promise<void>;
  /** True once the replica has been promoted and serves. */
  promoted(): Promise<boolean>;
  /** How long after the kill presence must be right on every pod (the topology's detection + a heartbeat + 2 s). */
  readonly settleBoundMs: number;
  /**
   * Whether a streamer's keys live on the primary that will be killed (on a Cluster, only some shards
   * are): the streamers that make transitions around the kill are picked among those. @default all
   */
  readonly onVictim?: (streamerId: string) => boolean;
}

export interface FailoverOutcome {
  /** From the kill until every pod listed exactly the streamers that should be online. */
  readonly settledAfterMs: number;
  /** Pods' /readyz answers while it happened. */
  readonly readiness: number[];
  /** When the bound passed with presence still wrong: what each pod listed wrongly then, for the failure message. */
  readonly wrongAtBound: string | null;
}

/**
 * The failover story both topologies must pass: 50 streamers heartbeat through the pods, a viewer on
 * each pod watches them; the primary is SIGKILLed. Transitions are made around it: a streamer ends just
 * before the kill, one connects and one ends while there is no primary, one connects after. Then:
 * nobody who kept heartbeating was ever reported offline, every transition reached every viewer and the
 * webhook receiver, and presence was right on every pod within the bound.
 */
export async function runFailoverStory(setting: FailoverSetting): Promise<FailoverOutcome> {
  const { pods, receiver } = setting;
  const prefix = `${setting.name}-`;
  const beating = Array.from({ length: STREAMERS }, (_, i) => `${prefix}${i}`);
  const onVictim = setting.onVictim ?? (() => true);
  const pick = (what: string) => {
    for (let k = 0; ; k += 1) if (onVictim(`${prefix}${what}-${k}`)) return `${prefix}${what}-${k}`;
  };
  const [endsBefore, endsDuring, joinsDuring, joinsAfter] = ['ends-before', 'ends-during', 'joins-during', 'joins-after'].map(pick) as [string, string, string, string];
  const everyone = [...beating, endsBefore, endsDuring, joinsDuring, joinsAfter];
  const sockets = new Map<string, Socket>();
  const stops = new Map<string, () => void>();
  const connect = async (id: string, i: number) => {
    const socket = await streamer(pods[i % pods.length]!.url, id);
    sockets.set(id, socket);
    stops.set(id, keepBeating(socket, HEARTBEAT_MS));
  };
  let killedAt = Number.POSITIVE_INFINITY;
  // Every `end` attempt, with its time after the kill and its answer: a failure past the bound says them.
  const endAttempts: string[] = [];
  // A heartbeat after `end` would bring the streamer back: its beating stops first.
  const end = (id: string, withinMs?: number) => {
    stops.get(id)!();
    return endStream(sockets.get(id)!, withinMs, (sentAt, ack) => endAttempts.push(`${id} end sent at +${sentAt - killedAt} ms, answered at +${Date.now() - killedAt} ms: ${JSON.stringify(ack)}`));
  };
  const viewers = await Promise.all(pods.map((pod) => resyncingViewer(pod.url, everyone)));
  try {
    for (const [i, id] of [...beating, endsBefore, endsDuring].entries()) await connect(id, i);
    const listed = async (pod: AppProcess) => {
      const { items } = (await (await fetch(`${pod.url}/v1/streamers?status=online&limit=100`)).json()) as { items: Array<{ streamerId: string }> };
      return items.map((item) => item.streamerId).sort();
    };
    let wrongAtBound: string | null = null;
    /** The streamers some pod listed wrongly past the bound, for the pods' lines about them. */
    const wrongIds = new Set<string>();
    const rightEverywhere = async (expected: string[]) => {
      const lists = await Promise.all(pods.map((pod) => listed(pod).catch((): string[] => [])));
      const right = lists.every((list) => list.join() === [...expected].sort().join());
      if (!right && wrongAtBound === null && Date.now() - killedAt > setting.settleBoundMs) {
        wrongAtBound = lists
          .map((list, i) => {
            const extra = list.filter((id) => !expected.includes(id));
            const missing = expected.filter((id) => !list.includes(id));
            for (const id of [...extra, ...missing]) wrongIds.add(id);
            return `pod ${i}: extra ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`;
          })
          .join('; ');
      }
      return right;
    };
    await waitUntil(() => rightEverywhere([...beating, endsBefore, endsDuring]), 15_000, 100);

    // Just before the kill: a transition whose log entry the primary holds when it dies.
    await end(endsBefore);
    await waitUntil(() => viewers.every((v) => v.seen().some((e) => e.streamerId === endsBefore && e.status === 'offline')), 5_000, 20);

    const readiness: number[] = [];
    const probing = setInterval(() => void fetch(`${pods[0]!.url}/readyz`).then((r) => readiness.push(r.status), () => undefined), 100);
    killedAt = Date.now();
    await setting.kill();
    // While there is no primary: one streamer connects, one ends its stream (its client retries the end
    // until a pod can record it, as the SDK does with `unavailable`).
    await connect(joinsDuring, 0);
    await end(endsDuring, 30_000);
    await waitUntil(() => setting.promoted(), 30_000, 100);

    const expected = [...beating, joinsDuring];
    await waitUntil(() => rightEverywhere(expected), setting.settleBoundMs + 30_000, 100);
    const settledAfterMs = Date.now() - killedAt;
    for (const pod of pods) await waitUntil(async () => (await fetch(`${pod.url}/readyz`)).status === 200, 15_000, 100);
    clearInterval(probing);

    await connect(joinsAfter, 1);
    const transitions: Array<[string, 'online' | 'offline']> = [
      [endsBefore, 'offline'],
      [joinsDuring, 'online'],
      [endsDuring, 'offline'],
      [joinsAfter, 'online'],
    ];
    const missing = (events: ReadonlyArray<{ streamerId: string; status: string }>) =>
      transitions.filter(([id, status]) => !events.some((e) => e.streamerId === id && e.status === status)).map(([id, status]) => `${id} ${status}`);
    const seen = (events: ReadonlyArray<{ streamerId: string; status: string }>) => missing(events).length === 0;
    // As events, not only as the state a resync snapshot shows: the transitions themselves reach them.
    await waitUntil(() => viewers.every((v) => seen(v.events.payloads())), 15_000, 50).catch((error: Error) => {
      throw new Error(`${error.message}: viewers missed ${JSON.stringify(viewers.map((v) => missing(v.events.payloads())))}`);
    });
    const heard = () => receiver.acknowledged().map((d) => d.body!.data as { streamerId: string; status: string; reason: string });
    await waitUntil(() => seen(heard()), 20_000, 100).catch(async (error: Error) => {
      const lines = pods.flatMap((pod) => pod.lines.filter((line) => missing(heard()).some((m) => line.includes(m.split(' ')[0]!))));
      const timelines = await Promise.all(missing(heard()).map(async (m) => (await fetch(`${pods[0]!.url}/v1/streamers/${m.split(' ')[0]}/timeline`, { headers: operatorHeaders() })).text()));
      const presence = await Promise.all(missing(heard()).map(async (m) => (await fetch(`${pods[0]!.url}/v1/streamers/${m.split(' ')[0]}/presence`)).text()));
      throw new Error(`${error.message}: the webhook receiver missed ${JSON.stringify(missing(heard()))}; timelines ${timelines.join()} presence ${presence.join()}; pods said of them:\n${lines.join('\n')}`);
    });

    // Nobody who kept heartbeating was reported offline, to any viewer or to the backend.
    for (const viewer of viewers) expect(viewer.wentOffline().filter((e) => beating.includes(e.streamerId))).toEqual([]);
    expect(heard().filter((e) => beating.includes(e.streamerId) && e.status === 'offline')).toEqual([]);
    // The ends were ends (not a TTL running out later).
    expect(heard().filter((e) => (e.streamerId === endsBefore || e.streamerId === endsDuring) && e.status === 'offline').map((e) => e.reason)).toEqual(expect.arrayContaining(['ended']));
    expect(await rightEverywhere([...expected, joinsAfter])).toBe(true);
    return { settledAfterMs, readiness, wrongAtBound: wrongAtBound === null ? null : explained(wrongAtBound, [...wrongIds], endAttempts, pods) };
  } finally {
    for (const stop of stops.values()) stop();
    for (const socket of sockets.values()) socket.close();
    for (const viewer of viewers) viewer.socket.close();
  }
}

/** What each pod listed wrongly past the bound, with every `end` attempt and the pods' lines about those streamers. */
function explained(wrongAtBound: string, ids: readonly string[], endAttempts: readonly string[], pods: readonly AppProcess[]): string {
  const lines = pods.flatMap((pod, i) => pod.lines.filter((line) => ids.some((id) => line.includes(id))).map((line) => `pod ${i}: ${line}`));
  return `${wrongAtBound}\nend attempts:\n${endAttempts.join('\n')}\npods said of ${ids.join(', ')}:\n${lines.join('\n')}`;
}

/** Ends a stream, retrying while the pod answers `unavailable` (no primary yet), as clients do. */
export async function endStream(socket: Socket, withinMs = 5_000, onAttempt: (sentAt: number, ack: unknown) => void = () => {}): Promise<void> {
  const giveUpAt = Date.now() + withinMs;
  for (;;) {
    const sentAt = Date.now();
    const ack = (await socket.timeout(3_000).emitWithAck('end').catch(() => ({ ok: false, timedOut: true }))) as { ok: boolean; error?: { code: string } };
    onAttempt(sentAt, ack);
    if (ack.ok) return;
    if (Date.now() > giveUpAt) throw new Error(`end not accepted within ${withinMs} ms: ${JSON.stringify(ack)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
