import { io } from 'socket.io-client';
import { ViewerClient } from '../../sdk/viewer-client.js';
import { isStreamerId } from '../../sdk/wire.js';
import type { PresenceEvent, PresenceState } from '../../sdk/index.js';
import { PageModel } from './page-model.js';
import { renderRows, renderTimeline, type TimelineEntry } from './render.js';

/**
 * The operators' page. `/dashboard` streams every presence event (to discover streamers as they come
 * online); the HTTP list fills in who was online before the page opened; the search box watches any
 * ids through the viewer SDK. Everything is merged by version, so the three sources may race.
 */
const byTestId = <T extends HTMLElement>(id: string): T => document.querySelector<T>(`[data-testid="${id}"]`)!;

/**
 * The operator token: from the URL fragment (`/#token=…`, as the service prints it at start in
 * development; a fragment never reaches a server or its logs), then kept in this tab's session storage.
 */
function operatorToken(): string | null {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment !== null && fromFragment !== '') {
    sessionStorage.setItem('operator-token', fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('operator-token');
}
const token = operatorToken();
const asOperator: RequestInit = token === null ? {} : { headers: { Authorization: `Bearer ${token}` } };
const model = new PageModel();
let selected: string | null = null;

function render(): void {
  const rows = model.rows();
  byTestId('online-count').textContent = String(model.onlineCount);
  byTestId('empty').hidden = rows.length > 0;
  renderRows(byTestId('streamers'), rows, selected);
}

async function loadOnline(): Promise<void> {
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const response = await fetch(`/v1/streamers?status=online&limit=1000${query}`);
    if (!response.ok) return;
    const page = (await response.json()) as { items: PresenceState[]; nextCursor: string | null };
    for (const state of page.items) model.apply(state);
    cursor = page.nextCursor;
  } while (cursor !== null);
  render();
}

async function loadTimeline(): Promise<void> {
  if (selected === null) return;
  const id = selected;
  const response = await fetch(`/v1/streamers/${encodeURIComponent(id)}/timeline`, asOperator);
  if (response.status === 401) {
    byTestId('timeline-hint').textContent = 'The timeline needs an operator token: open the link with #token=… that the service printed at start.';
    return;
  }
  if (!response.ok || id !== selected) return;
  const { items } = (await response.json()) as { items: TimelineEntry[] };
  byTestId('timeline-title').textContent = id;
  byTestId('timeline-hint').hidden = true;
  renderTimeline(byTestId('timeline'), items);
}

function onEvent(event: PresenceEvent): void {
  if (model.apply(event)) render();
  if (event.streamerId === selected) void loadTimeline();
}

// The firehose is for operators: without a token the page still lists and watches, but streams nothing.
const firehose = io('/dashboard', { transports: ['websocket'], auth: token === null ? {} : { token } });
const connection = byTestId('connection');
const showState = (state: string): void => {
  connection.dataset.state = state;
  connection.textContent = state;
};
firehose.on('presence', onEvent);
// `ready` comes once this socket's events flow, so the list read then misses nothing; after a Redis
// outage the server sends `resync`, and the list is read again.
firehose.on('ready', () => {
  showState('online');
  void loadOnline();
});
firehose.on('resync', () => void loadOnline());
firehose.on('disconnect', () => showState('reconnecting'));
firehose.on('connect_error', (error) => {
  if (error.message !== 'unauthorized') return;
  // No live stream without an operator token; the public list still shows who is online.
  showState('sign-in needed');
  void loadOnline();
});

const viewer = new ViewerClient({ url: location.origin });
viewer.on('change', (state) => {
  if (model.apply(state)) render();
  if (state.streamerId === selected) void loadTimeline();
});

byTestId<HTMLFormElement>('watch-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const input = byTestId<HTMLInputElement>('watch-input');
  const ids = input.value.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const bad = ids.filter((id) => !isStreamerId(id));
  byTestId('watch-error').textContent = bad.length > 0 ? `not a streamer id: ${bad.join(', ')}` : '';
  if (bad.length > 0 || ids.length === 0) return;
  model.watch(ids);
  input.value = '';
  void viewer.watch(ids).then(
    (states) => {
      for (const state of states) model.apply(state);
      render();
    },
    (error: Error) => {
      byTestId('watch-error').textContent = error.message;
    },
  );
});

byTestId('streamers').addEventListener('click', (click) => {
  const row = (click.target as HTMLElement).closest<HTMLElement>('tr[data-streamer]');
  if (row === null) return;
  selected = row.dataset.streamer ?? null;
  render();
  void loadTimeline();
});

// "since" is relative: keep it current.
setInterval(render, 5_000);
render();
