import type { ConnectionView, PodView, WebhookView } from '../console-api.js';
import type { PresenceState } from '../../sdk/index.js';
import type { Row } from './page-model.js';

/** A transition as GET /v1/streamers/:id/timeline returns it. */
export interface TimelineEntry {
  readonly status: string;
  readonly reason: string;
  readonly since: number;
  readonly version: number;
  readonly at: number;
  readonly pod: string;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

/** "3 min ago" style, for a time on the server's clock. */
export function ago(ms: number, now = Date.now()): string {
  if (ms === 0) return 'never';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

function metaCell(state: PresenceState): HTMLTableCellElement {
  const cell = element('td', undefined, 'meta');
  for (const [key, value] of Object.entries(state.meta ?? {})) cell.append(element('span', `${key}: ${String(value)}`));
  return cell;
}

export function renderRows(body: HTMLElement, rows: readonly Row[], selected: string | null): void {
  body.replaceChildren(
    ...rows.map(({ state, reason }) => {
      const row = element('tr');
      row.dataset.streamer = state.streamerId;
      row.dataset.status = state.status;
      if (state.streamerId === selected) row.classList.add('selected');
      const status = element('td');
      status.append(element('span', reason ? `${state.status} (${reason})` : state.status, `status ${state.status}`));
      const since = element('td', ago(state.since));
      since.title = state.since === 0 ? '' : new Date(state.since).toISOString();
      row.append(element('td', state.streamerId), status, since, metaCell(state));
      return row;
    }),
  );
}

export function renderTimeline(list: HTMLElement, entries: readonly TimelineEntry[]): void {
  list.replaceChildren(
    ...entries.map((entry) => {
      const item = element('li');
      item.dataset.testid = 'timeline-entry';
      item.dataset.reason = entry.reason;
      item.append(
        element('span', entry.status, `status ${entry.status}`),
        ` ${entry.reason} · decided by ${entry.pod}`,
        element('span', `${new Date(entry.since).toISOString()} (recorded ${ago(entry.at)})`, 'when'),
      );
      return item;
    }),
  );
}


export function renderPods(body: HTMLElement, pods: readonly PodView[], deciders: ReadonlyMap<string, { count: number; lastAt: number }>, now: number): void {
  body.replaceChildren(
    ...pods.map((pod) => {
      const row = element('tr');
      row.dataset.pod = pod.name;
      const state = pod.draining ? 'draining' : pod.ready ? 'ready' : 'not ready';
      const decided = deciders.get(pod.name);
      row.append(
        element('td', pod.name),
        element('td', String(pod.streamers)),
        element('td', String(pod.viewers)),
        element('td', state, pod.ready && !pod.draining ? 'state-ready' : 'state-unready'),
        element('td', ago(pod.seenAt, now)),
        element('td', decided === undefined ? '—' : `${decided.count}, last ${ago(decided.lastAt, now)}`),
      );
      return row;
    }),
  );
}

export function renderRates(list: HTMLElement, rates: ReadonlyMap<string, number>): void {
  const reasons = ['connected', 'disconnected', 'timeout', 'ended', 'meta'];
  list.replaceChildren(
    ...reasons.map((reason) => {
      const item = element('li');
      item.dataset.reason = reason;
      item.append(element('span', reason), element('strong', (rates.get(reason) ?? 0).toFixed(1)));
      return item;
    }),
  );
}


function connectionState(state: ConnectionView['state'], live: boolean): string {
  if (state === 'open') return live ? 'live' : 'silent, run out';
  if (state === 'parked') return live ? 'open, no lease (ended or silent)' : 'gone';
  return live ? 'closed, in grace' : 'closed';
}

export function renderConnections(body: HTMLElement, connections: readonly ConnectionView[], now: number): void {
  body.replaceChildren(
    ...connections.map((connection) => {
      const row = element('tr');
      row.dataset.state = connection.state;
      const live = connection.liveUntil > now;
      row.append(
        element('td', connection.pod ?? '?'),
        element('td', connectionState(connection.state, live)),
        element('td', connection.since === null ? '—' : ago(connection.since, now)),
        element('td', ago(connection.lastSeenAt, now)),
        element('td', new Date(connection.liveUntil).toISOString().slice(11, 19)),
      );
      return row;
    }),
  );
}

export function renderEvents(
  body: HTMLElement,
  events: ReadonlyArray<{ event: { streamerId: string; status: string; reason: string; version: number }; pod: string; at: number }>,
): void {
  body.replaceChildren(
    ...events.map(({ event, pod, at }) => {
      const row = element('tr');
      row.dataset.streamer = event.streamerId;
      row.dataset.version = String(event.version);
      row.dataset.reason = event.reason;
      const status = element('td');
      status.append(element('span', event.status, `status ${event.status}`));
      row.append(
        element('td', new Date(at).toISOString().slice(11, 23)),
        element('td', event.streamerId),
        status,
        element('td', event.reason),
        element('td', String(event.version)),
        element('td', pod),
      );
      return row;
    }),
  );
}


/** `null`: webhooks are off on this deployment. */
export function renderWebhooks(list: HTMLElement, webhooks: readonly WebhookView[] | null, now: number): void {
  if (webhooks === null || webhooks.length === 0) {
    list.replaceChildren(element('li', webhooks === null ? 'Webhooks are off (no WEBHOOK_URL).' : 'None recorded yet.', 'hint'));
    return;
  }
  list.replaceChildren(
    ...webhooks.map((webhook) => {
      const item = element('li');
      item.dataset.reason = webhook.reason;
      item.dataset.status = webhook.status;
      const attempts = webhook.attempts === 1 ? '1 attempt' : `${webhook.attempts} attempts`;
      item.append(element('strong', webhook.status.replace('_', '-')), ` ${webhook.reason} · ${attempts} · ${webhook.pod} · ${ago(webhook.at, now)}`);
      return item;
    }),
  );
}
