// The soak's oracle: from what each streamer meant (its ground truth, as its driver recorded it) and the
// contract's timing, what every viewer had to see, checked against what it saw. Pure: times are
// parameters, so test/unit/soak/oracle.test.ts holds it to planted faults.

/** A span in which a streamer meant to be online: from its session until its stated end. */
export interface LiveSpan {
  readonly streamerId: string;
  readonly from: number;
  /**
   * When it must be offline by the contract (ms): `end` acknowledged → then; a crash (socket destroyed,
   * no `end`) → close + grace; gone silent → last acknowledged heartbeat + TTL; lapsed (see cutAtLapse)
   * → the last heartbeat sent + TTL. Infinity while still live.
   */
  readonly until: number;
  readonly ending: 'end' | 'crash' | 'silent' | 'lapsed' | 'live';
}

/**
 * A heartbeat sent more than a TTL after the one before it (or after the connect) comes after its lease
 * ran out: the contract allowed the offline from the earlier one + TTL, and this heartbeat brings the
 * streamer back. It happens when the client's own timer fires late (a saturated soak generator: up to
 * 20 s late at full scale on 2 cores, RELIABILITY finding 6), through no fault of the service. The live
 * span ends at the lapse and a new one starts at this heartbeat. Null when the heartbeat came in time.
 *
 * `transitSlackMs`: a heartbeat also spends time between the app and the store (the load balancer, the
 * pod, Redis), which on the soak's busy machine is the same slack a delivery gets. One sent within that
 * of the TTL may arrive after the lease ran out, and the streamer is then offline from the lapse until
 * it arrives (RELIABILITY, finding 24: a `timeout` and a `connected` 20 ms apart, the heartbeat 4.8 s
 * after the one before). The offline is still never allowed before the earlier one + TTL.
 */
export function cutAtLapse(span: LiveSpan, lastSentAt: number, sentAt: number, ttlMs: number, transitSlackMs = 0): { ended: LiveSpan; next: LiveSpan } | null {
  if (sentAt - lastSentAt <= ttlMs - transitSlackMs) return null;
  const lapsedAt = lastSentAt + ttlMs;
  return {
    ended: { ...span, until: lapsedAt, ending: 'lapsed' },
    next: { streamerId: span.streamerId, from: Math.max(sentAt, lapsedAt), until: Number.POSITIVE_INFINITY, ending: 'live' },
  };
}

/**
 * The spans with the last one ended at `end`. One begun by a lapse may start at the lapse, after the
 * heartbeat that began it (cutAtLapse): an end that came before that was sent while the lapsed span
 * still ran, so it ends that one there, and the span after it never began.
 */
export function endLastSpan(spans: readonly LiveSpan[], end: number, ending: LiveSpan['ending']): LiveSpan[] {
  const kept = end < spans.at(-1)!.from && spans.length > 1 ? spans.slice(0, -1) : [...spans];
  const last = kept.at(-1)!;
  kept[kept.length - 1] = { ...last, until: Math.min(last.until, end), ending };
  return kept;
}

/**
 * A connection the streamer's app did not mean to lose (its pod was killed or drained, or the app moved
 * networks), and the one that replaced it. The app dates the loss when it notices it, which a starved
 * generator did seconds late; the pod that let the socket go dates it too (its "streamer disconnected"
 * line; none when the pod was SIGKILLed). The replacement is dated by the store's admission (the
 * session's `serverTime`), not by when the app read it.
 */
export interface Reconnect {
  readonly streamerId: string;
  /** The lost connection's socket id, as the pods log it. */
  readonly socketId: string;
  readonly noticedAt: number;
  /** The last heartbeat the store took on the lost connection, as far as the app knows. */
  readonly lastBeatAt: number;
  /** When the store admitted the new connection. */
  readonly backAt: number;
}

/**
 * Until when a connection lost at `lostAt` keeps its streamer online: the grace after its close, or
 * sooner its last heartbeat + TTL when its pod died (no close reached the store, so the lease ran out).
 */
export function lossDeadline(lostAt: number, lastBeatAt: number, timing: { readonly ttlMs: number; readonly graceMs: number }): number {
  return Math.min(lostAt + timing.graceMs, lastBeatAt + timing.ttlMs);
}

/**
 * The spans cut where a reconnect came after the lost connection had stopped keeping its streamer
 * online: at its close + grace, or at its last heartbeat + TTL when that is sooner (a killed pod's close
 * never reaches the store). The contract allows the offline in between, and the streamer is live again
 * from the reconnect. The close is the pod's when it logged one before the app noticed (RELIABILITY,
 * finding 24: a drained streamer that took 2.4 s to come back on a starved generator counted its
 * `disconnected` offline as false, the app having noticed the close late). Within 250 ms of the
 * deadline counts as after it: the store takes a connect some ms after admitting it.
 */
export function cutAtReconnects(
  spans: readonly LiveSpan[],
  reconnects: readonly Reconnect[],
  closedAt: ReadonlyMap<string, number>,
  timing: { readonly ttlMs: number; readonly graceMs: number },
): LiveSpan[] {
  const cut = [...spans];
  for (const reconnect of reconnects) {
    const lostAt = Math.min(reconnect.noticedAt, closedAt.get(reconnect.socketId) ?? Number.POSITIVE_INFINITY);
    const deadline = lossDeadline(lostAt, reconnect.lastBeatAt, timing);
    if (reconnect.backAt <= deadline - 250) continue;
    const at = cut.findIndex((span) => span.streamerId === reconnect.streamerId && span.from < deadline && deadline < span.until && reconnect.backAt < span.until);
    if (at === -1) continue;
    const span = cut[at]!;
    cut.splice(at, 1, { ...span, until: deadline, ending: 'crash' }, { ...span, from: Math.max(deadline, reconnect.backAt) });
  }
  return cut;
}

/** The last socket of one of a streamer's sessions, and when its last span ended by the driver. */
export interface SessionEnd {
  readonly streamerId: string;
  readonly socketId: string;
  readonly until: number;
}

/**
 * A session's last span ends no later than its socket's close + grace when a pod let that socket go
 * before the span's end: the contract keeps a closed connection live until close + grace, whatever its
 * TTL. A silent app's span ran to its last heartbeat + TTL, but a pod drained in the meantime (the
 * rolling SIGTERM) closes its socket, and the hung app does not come back (RELIABILITY, finding 30:
 * three `disconnected` offlines at close + grace, 1.2 s before the TTL, counted as false).
 */
export function cutAtPodClose(spans: readonly LiveSpan[], ends: readonly SessionEnd[], closedAt: ReadonlyMap<string, number>, graceMs: number): LiveSpan[] {
  const cut = [...spans];
  for (const end of ends) {
    const closed = closedAt.get(end.socketId);
    if (closed === undefined || closed + graceMs >= end.until) continue;
    const at = cut.findIndex((span) => span.streamerId === end.streamerId && span.until === end.until);
    if (at === -1) continue;
    const span = cut[at]!;
    cut[at] = { ...span, until: Math.max(span.from, closed + graceMs) };
  }
  return cut;
}

/** What one viewer saw of one streamer: events, and states from (re)subscribe snapshots. */
export interface Sighting {
  readonly streamerId: string;
  readonly status: 'online' | 'offline';
  readonly version: number;
  readonly since: number;
  /** Set for events, absent for snapshot states. */
  readonly reason?: string;
  /** Arrival (the soak's clock): when the generator read it. */
  readonly at: number;
  /**
   * The earliest it may have arrived: the generator's last free moment before it read it (GeneratorTurns),
   * but not before the service could have sent it (ViewerDriver `readFrom`). A starved generator reads,
   * seconds late, what had been waiting on its sockets: the service delivered it somewhere in between
   * (RELIABILITY, finding 29). Absent: `at`.
   */
  readonly readFrom?: number;
}

export interface ViewerRecord {
  readonly label: string;
  readonly streamerIds: readonly string[];
  readonly sightings: readonly Sighting[];
  /** Spans in which it was not connected and subscribed: it may miss events, and is not asked then. */
  readonly away: ReadonlyArray<{ readonly from: number; readonly until: number }>;
}

/**
 * The viewer's away spans, each begun no later than a pod let go of one of its sockets (`closedAt`, from
 * the pods' "viewer disconnected" lines). The client dates a span by when it noticed the close, which a
 * starved generator did seconds late, and every transition in between counted as lost to a viewer that
 * was in fact gone (RELIABILITY, finding 22). A close inside a span already begun changes nothing.
 */
export function awayFromPodSide(viewer: ViewerRecord, closedAt: readonly number[]): ViewerRecord {
  const away = viewer.away.map((span) => ({ ...span }));
  for (const at of closedAt) {
    const next = away.find((span) => span.until > at);
    if (next !== undefined && at < next.from) next.from = at;
  }
  return { ...viewer, away };
}

export interface OracleTiming {
  readonly ttlMs: number;
  /** How late a delivery may be, on top of the contract's 1 s (the soak's machine is busy). */
  readonly slackMs: number;
}

export interface Verdict {
  /** Offline events for a streamer that never stopped meaning to be live: must be 0. */
  readonly falseOffline: string[];
  /** A streamer still online in a viewer's view TTL + 1 s (+ slack) after it must be offline: must be 0. */
  readonly ghosts: string[];
  /** Two different events with one version: must be 0. */
  readonly duplicateDistinct: string[];
  /** The same event twice (a redelivery after a crash): reported, allowed. */
  readonly sameVersionRepeats: number;
  /** When each repeat reached its viewer (ms), to tell which chaos caused them. */
  readonly repeatTimes: number[];
  /** Transitions in the log a viewer, subscribed and connected throughout, never got: must be 0. */
  readonly lostToViewers: string[];
  /** Ghosts by when the generator read the sightings, not by when they may have arrived (`readFrom`): reported. */
  readonly readLate: string[];
}

const isAway = (viewer: ViewerRecord, from: number, until: number): boolean => viewer.away.some((gap) => gap.from < until && from < gap.until);

/**
 * The highest version among `sightings` (one streamer's) that may have arrived by `at` (see `readFrom`),
 * or, `asRead`, that the generator had read by then.
 */
function viewAt(sightings: readonly Sighting[], at: number, asRead = false): Sighting | undefined {
  let best: Sighting | undefined;
  for (const sighting of sightings) if ((asRead ? sighting.at : (sighting.readFrom ?? sighting.at)) <= at && (best === undefined || sighting.version > best.version)) best = sighting;
  return best;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group === undefined) groups.set(key(item), [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * @param spans every streamer's live spans
 * @param viewers what each viewer saw
 * @param logged the transitions the log holds (`streamerId`, `version`, when decided), for lost ones
 * @param endAt when the soak stopped looking (spans and transitions after it are not judged)
 */
export function judge(spans: readonly LiveSpan[], viewers: readonly ViewerRecord[], logged: ReadonlyArray<{ streamerId: string; version: number; at: number }>, timing: OracleTiming, endAt: number): Verdict {
  const falseOffline: string[] = [];
  const ghosts: string[] = [];
  const duplicateDistinct: string[] = [];
  const repeatTimes: number[] = [];
  const lostToViewers: string[] = [];
  const readLate: string[] = [];
  const ghostAfter = timing.ttlMs + 1_000 + timing.slackMs;

  const spansOf = groupBy(spans, (span) => span.streamerId);
  const loggedOf = groupBy(logged, (transition) => transition.streamerId);

  for (const viewer of viewers) {
    const seenOf = groupBy(viewer.sightings, (sighting) => sighting.streamerId);
    for (const streamerId of viewer.streamerIds) {
      const sightings = seenOf.get(streamerId) ?? [];
      const streamerSpans = spansOf.get(streamerId) ?? [];
      const byVersion = new Map<number, Sighting>();
      for (const sighting of sightings) {
        if (sighting.reason === undefined) continue;
        const seen = byVersion.get(sighting.version);
        if (seen === undefined) byVersion.set(sighting.version, sighting);
        else if (seen.status === sighting.status && seen.reason === sighting.reason && seen.since === sighting.since) repeatTimes.push(sighting.at);
        else duplicateDistinct.push(`${viewer.label}: ${streamerId}/${sighting.version} as ${seen.status}/${seen.reason} and ${sighting.status}/${sighting.reason}`);
        // An offline whose deadline falls inside a span the streamer meant to be live, a second clear of its ends.
        if (sighting.status !== 'offline' || seen !== undefined) continue;
        const span = streamerSpans.find((live) => live.from <= sighting.since && sighting.since < live.until);
        if (span !== undefined && sighting.since > span.from + 1_000 && sighting.since < span.until - 1_000) {
          falseOffline.push(`${viewer.label}: ${streamerId} offline (${sighting.reason}) since ${sighting.since}, live ${span.from}..${span.until}`);
        }
      }
      for (const span of streamerSpans) {
        if (!Number.isFinite(span.until)) continue;
        const checkAt = span.until + ghostAfter;
        if (checkAt > endAt || isAway(viewer, span.until, checkAt)) continue;
        // Live again by then (a new span began after this one): not a ghost of this one.
        if (streamerSpans.some((next) => next.from > span.from && next.from > span.until - 1_000 && next.from <= checkAt)) continue;
        const view = viewAt(sightings, checkAt);
        if (view?.status !== 'online') {
          if (viewAt(sightings, checkAt, true)?.status === 'online') {
            readLate.push(`${viewer.label}: ${streamerId} judged at ${checkAt}, read at ${view?.at} after a stall from ${view?.readFrom}`);
          }
          continue;
        }
        // The online it shows is the next span's: the server decided that connect a few ms before the
        // driver, which dates a span by the connect's answer, recorded its start (and after checkAt).
        if (streamerSpans.some((next) => next.from > span.until && Math.abs(next.from - view.since) <= 1_000)) continue;
        ghosts.push(`${viewer.label}: ${streamerId} online ${ghostAfter} ms after its ${span.ending} at ${span.until}`);
      }
      for (const transition of loggedOf.get(streamerId) ?? []) {
        const settledAt = transition.at + 1_000 + timing.slackMs;
        if (settledAt > endAt || isAway(viewer, transition.at - 1_000, settledAt)) continue;
        if (!byVersion.has(transition.version)) lostToViewers.push(`${viewer.label}: ${streamerId} v${transition.version}`);
      }
    }
  }
  return { falseOffline, ghosts, duplicateDistinct, sameVersionRepeats: repeatTimes.length, repeatTimes, lostToViewers, readLate };
}
