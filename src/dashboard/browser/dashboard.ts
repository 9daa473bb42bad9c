import type { PresenceReason } from '../../sdk/index.js';
import type { ConnectionView, PodView, WebhookView } from '../console-api.js';
import { chartPath, type ChartPoint } from './chart.js';
import { type ConsoleEvent, EventList } from './event-list.js';
import { followFeed, StopFollowing } from './feed-follower.js';
import { byTestId, REFUSED_MESSAGE, showSignIn } from './page.js';
import { renderConnections, renderEvents, renderPods, renderRates, renderTimeline, renderWebhooks, type TimelineEntry } from './render.js';
import { forgetToken } from './session.js';
import { signIn } from './sign-in.js';
import { StreamerList } from './streamer-list.js';

/**
 * The operators' console. Signed in with an operator token, it shows the service at a glance (online
 * streamers over the last hour, events per second, the pods), the streamers (streamer-list.ts), one
 * streamer in detail, and the live event console, which follows the transition log by cursor, so a cut
 * connection leaves no gap.
 */
const OVERVIEW_EVERY_MS = 5_000;
const HOUR_MS = 3_600_000;

const token = signIn();
if (token !== null) startConsole(token);

function startConsole(token: string): void {
  byTestId('app').hidden = false;
  byTestId('sign-out').hidden = false;
  let signedOut = false;
  /** An operator request; a refused token ends the session and asks for another. */
  const get = async (path: string): Promise<Response> => {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401) {
      if (!signedOut) {
        signedOut = true;
        forgetToken();
        showSignIn(REFUSED_MESSAGE);
      }
      throw new StopFollowing('unauthorized');
    }
    return response;
  };

  const events = new EventList();
  let selected: string | null = null;
  let pods: PodView[] = [];
  let samples: ChartPoint[] = [];
  const live: ChartPoint[] = [];
  /** The service's clock less this browser's, from the last overview: times on the page are the service's. */
  let clockOffset = 0;
  const serviceNow = (): number => Date.now() + clockOffset;


  function renderGlance(): void {
    const now = serviceNow();
    const points = [...samples, ...live];
    // The last hour, or as much of it as there is: a young deployment's line spans the chart too.
    const from = Math.max(now - HOUR_MS, Math.min(now - 60_000, ...points.map(({ at }) => at)));
    const { path, ceiling } = chartPath(points, from, now, 600, 120);
    byTestId('online-line').setAttribute('d', path);
    byTestId('chart-ceiling').textContent = String(ceiling);
    byTestId('chart-points').textContent = String(samples.length + live.length);
    renderRates(byTestId('rates'), events.ratesByReason(now));
    renderPods(byTestId('pods'), pods, events.deciders(), now);
  }

  function filter(): { idPrefix: string; reason: PresenceReason | null } {
    const reason = byTestId<HTMLSelectElement>('event-filter-reason').value;
    return { idPrefix: byTestId<HTMLInputElement>('event-filter-prefix').value.trim(), reason: reason === '' ? null : (reason as PresenceReason) };
  }

  function renderEventConsole(): void {
    renderEvents(byTestId('events'), events.view(filter()));
    byTestId('event-pause').textContent = events.isPaused ? 'Resume' : 'Pause';
    byTestId('event-waiting').textContent = events.isPaused ? `${events.waiting} new while paused` : '';
  }

  async function loadOverview(): Promise<void> {
    try {
      const response = await get('/v1/console/overview');
      if (!response.ok) return;
      const overview = (await response.json()) as { now: number; online: number; series: ChartPoint[]; pods: PodView[] };
      samples = overview.series;
      pods = overview.pods;
      clockOffset = overview.now - Date.now();
      live.push({ at: overview.now, online: overview.online });
      while (live.length > 0 && live[0]!.at < serviceNow() - HOUR_MS) live.shift();
      renderGlance();
    } catch {
      // Shown stale until the next poll; the header says whether the service is reachable.
    }
  }

  async function loadDetail(): Promise<void> {
    if (selected === null) return;
    const id = selected;
    try {
      const response = await get(`/v1/console/streamers/${encodeURIComponent(id)}`);
      if (!response.ok || id !== selected) return;
      const detail = (await response.json()) as { viewers: number; connections: ConnectionView[]; timeline: TimelineEntry[]; webhooks: WebhookView[] | null };
      byTestId('timeline-title').textContent = id;
      byTestId('timeline-hint').hidden = true;
      byTestId('detail').hidden = false;
      byTestId('detail-occupancy').textContent = String(detail.viewers);
      renderConnections(byTestId('connections'), detail.connections, serviceNow());
      renderWebhooks(byTestId('webhooks'), detail.webhooks, serviceNow());
      renderTimeline(byTestId('timeline'), detail.timeline);
    } catch {
      // The next event or poll tries again.
    }
  }

  const streamers = new StreamerList(token, (streamerId) => {
    if (streamerId === selected) void loadDetail();
  });

  function select(id: string | null): void {
    if (id === null) return;
    selected = id;
    streamers.select(id);
    void loadDetail();
  }

  // The event console: the log, by cursor. A backfill after a cut is the same read, from where it stopped.
  const feedState = byTestId('feed-state');
  void followFeed(
    get,
    (items: ConsoleEvent[]) => {
      if (events.add(items)) renderEventConsole();
      else if (events.isPaused) renderEventConsole();
    },
    (state) => {
      feedState.dataset.state = state;
      feedState.textContent = `feed: ${state}`;
    },
  );

  byTestId('streamers').addEventListener('click', (click) => select((click.target as HTMLElement).closest<HTMLElement>('tr[data-streamer]')?.dataset.streamer ?? null));
  byTestId('events').addEventListener('click', (click) => select((click.target as HTMLElement).closest<HTMLElement>('tr[data-streamer]')?.dataset.streamer ?? null));
  byTestId('event-filter-prefix').addEventListener('input', renderEventConsole);
  byTestId('event-filter-reason').addEventListener('change', renderEventConsole);
  byTestId<HTMLFormElement>('event-filters').addEventListener('submit', (submit) => submit.preventDefault());
  byTestId('event-pause').addEventListener('click', () => {
    if (events.isPaused) events.resume();
    else events.pause();
    renderEventConsole();
  });

  void loadOverview();
  setInterval(() => void loadOverview(), OVERVIEW_EVERY_MS);
  // "since" and "seen" are relative, and the selected streamer's leases move: keep them current.
  setInterval(() => {
    streamers.render();
    renderGlance();
    void loadDetail();
  }, OVERVIEW_EVERY_MS);
  streamers.render();
  renderEventConsole();
}
