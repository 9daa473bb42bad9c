import { io } from 'socket.io-client';
import { ViewerClient } from '../../sdk/viewer-client.js';
import { isStreamerId } from '../../sdk/wire.js';
import type { PresenceEvent, PresenceState } from '../../sdk/index.js';
import { byTestId, REFUSED_MESSAGE, showSignIn } from './page.js';
import { PageModel } from './page-model.js';
import { renderRows } from './render.js';

/**
 * Who is online, with what meta. `/dashboard` streams every presence event (to discover streamers as they
 * come online); the HTTP list fills in who was online before the page opened; the search box watches any
 * ids through the viewer SDK. Everything is merged by version, so the three sources may race.
 */
export class StreamerList {
  private readonly model = new PageModel();
  private selected: string | null = null;

  /** @param changed told of every change of a streamer, to refresh what else shows it */
  constructor(
    token: string,
    private readonly changed: (streamerId: string) => void,
  ) {
    const firehose = io('/dashboard', { transports: ['websocket'], auth: { token } });
    const connection = byTestId('connection');
    const showState = (state: string): void => {
      connection.dataset.state = state;
      connection.textContent = state;
    };
    firehose.on('presence', (event: PresenceEvent) => this.apply(event));
    // `ready` comes once this socket's events flow, so the list read then misses nothing; after a Redis
    // outage the server sends `resync`, and the list is read again.
    firehose.on('ready', () => {
      showState('online');
      void this.loadOnline();
    });
    firehose.on('resync', () => void this.loadOnline());
    firehose.on('disconnect', () => showState('reconnecting'));
    firehose.on('connect_error', (error) => {
      if (error.message === 'unauthorized') showSignIn(REFUSED_MESSAGE);
    });
    const viewer = new ViewerClient({ url: location.origin });
    viewer.on('change', (state) => this.apply(state));
    this.bindWatchForm(viewer);
  }

  /** Highlights `streamerId` as the one shown in detail. */
  select(streamerId: string): void {
    this.selected = streamerId;
    this.render();
  }

  render(): void {
    const rows = this.model.rows();
    byTestId('online-count').textContent = String(this.model.onlineCount);
    byTestId('empty').hidden = rows.length > 0;
    renderRows(byTestId('streamers'), rows, this.selected);
  }

  private apply(state: PresenceState | PresenceEvent): void {
    if (this.model.apply(state)) this.render();
    this.changed(state.streamerId);
  }

  private async loadOnline(): Promise<void> {
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const response = await fetch(`/v1/streamers?status=online&limit=1000${query}`);
      if (!response.ok) return;
      const page = (await response.json()) as { items: PresenceState[]; nextCursor: string | null };
      for (const state of page.items) this.model.apply(state);
      cursor = page.nextCursor;
    } while (cursor !== null);
    this.render();
  }

  private bindWatchForm(viewer: ViewerClient): void {
    byTestId<HTMLFormElement>('watch-form').addEventListener('submit', (submit) => {
      submit.preventDefault();
      const input = byTestId<HTMLInputElement>('watch-input');
      const ids = input.value.split(',').map((id) => id.trim()).filter((id) => id !== '');
      const bad = ids.filter((id) => !isStreamerId(id));
      byTestId('watch-error').textContent = bad.length > 0 ? `not a streamer id: ${bad.join(', ')}` : '';
      if (bad.length > 0 || ids.length === 0) return;
      this.model.watch(ids);
      input.value = '';
      void viewer.watch(ids).then(
        (states) => {
          for (const state of states) this.model.apply(state);
          this.render();
        },
        (error: Error) => {
          byTestId('watch-error').textContent = error.message;
        },
      );
    });
  }
}
