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
