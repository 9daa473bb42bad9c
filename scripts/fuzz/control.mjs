// The control: a well-behaved streamer heartbeating every 250 ms with an ack, and a viewer watching it,
// on their own addresses. Its ack round trips are the figure the fuzzing must not spoil, so it uses
// socket.io-client as a real client would, and every failure or lost connection fails the run.
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import { CONTROL_ID, CONTROL_STREAMER_ADDRESS, CONTROL_VIEWER_ADDRESS } from './identities.mjs';
import { Counter } from './stats.mjs';
import { withTimeout } from './with-timeout.mjs';

const HEARTBEAT_EVERY_MS = 250;
const ACK_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Meta heartbeats remembered for the viewer's delivery latency. */
const MAX_REMEMBERED = 100;

export class Control {
  /** 'warmup' → 'baseline' (quiet pod) → 'fuzz' → 'teardown'; only baseline and fuzz are measured. */
  phase = 'warmup';
  /** Round trips per phase, ms. */
  rtts = { baseline: [], fuzz: [] };
  failures = new Counter();
  lost = [];
  viewerEvents = 0;
  metaLatencies = [];
  generation = 0;

  /** `run`: `{ pod, tokens }`, `pod` being whichever pod is current. */
  constructor(run) {
    this.run = run;
  }

  /** Connects both sockets to the current pod; on a restart the old ones are closed first and their fate not counted. */
  async start() {
    // A new generation first: the old sockets' disconnects, caused here, are not the control's losses.
    const generation = (this.generation += 1);
    this.close();
    const current = () => generation === this.generation && this.phase !== 'teardown';
    const base = `http://127.0.0.1:${this.run.pod.port}`;
    const options = (address) => ({ transports: ['websocket'], extraHeaders: { 'X-Forwarded-For': address }, reconnectionDelay: 100, reconnectionDelayMax: 1_000 });
    const sentAt = new Map();

    const viewer = io(`${base}/viewer`, options(CONTROL_VIEWER_ADDRESS));
    this.viewer = viewer;
    viewer.on('presence', (state) => {
      if (!current()) return;
      this.viewerEvents += 1;
      const at = sentAt.get(state?.meta?.seq);
      if (at !== undefined && this.phase === 'fuzz') this.metaLatencies.push(performance.now() - at);
    });
    viewer.on('disconnect', (reason) => {
      if (current()) this.lost.push(`viewer: ${reason}`);
    });
    const subscribed = new Promise((resolve, reject) => {
      viewer.on('connect', () => {
        viewer.timeout(ACK_TIMEOUT_MS).emitWithAck('subscribe', { streamerIds: [CONTROL_ID] }).then((ack) => {
          if (ack?.ok) resolve();
          else if (current()) this.failures.add(`viewer subscribe: ${ack?.error?.code ?? 'no ack'}`);
        }, () => current() && this.failures.add('viewer subscribe: timeout'));
      });
      viewer.on('connect_error', (error) => {
        if (current() && this.phase !== 'warmup') this.failures.add(`viewer connect_error: ${error.message}`);
        if (this.phase === 'warmup') reject(new Error(`control viewer: connect_error ${error.message}`));
      });
    });

    // A fresh token at every (re)connect, so a long run never meets an expired one.
    const streamer = io(`${base}/streamer`, { ...options(CONTROL_STREAMER_ADDRESS), auth: (cb) => cb({ token: this.run.tokens.mint(CONTROL_ID, 'streamer') }) });
    this.streamer = streamer;
    streamer.on('disconnect', (reason) => {
      if (current()) this.lost.push(`streamer: ${reason}`);
    });
    const connected = new Promise((resolve, reject) => {
      streamer.on('connect', resolve);
      streamer.on('connect_error', (error) => {
        if (current() && this.phase !== 'warmup') this.failures.add(`connect_error: ${error.message}`);
        if (this.phase === 'warmup') reject(new Error(`control streamer: connect_error ${error.message}`));
      });
    });
    await withTimeout(Promise.all([subscribed, connected]), CONNECT_TIMEOUT_MS, `control: not connected and subscribed within ${CONNECT_TIMEOUT_MS / 1000} s`);

    let seq = 0;
    this.timer = setInterval(() => {
      seq += 1;
      // Every fourth heartbeat changes meta, so the viewer gets a presence event from the relay.
      const withMeta = seq % 4 === 0;
      const sent = performance.now();
      if (withMeta) sentAt.set(seq, sent);
      if (sentAt.size > MAX_REMEMBERED) sentAt.delete(sentAt.keys().next().value);
      // An ack counts for the phase it was sent in, and only if that phase is still on when it comes.
      const phase = this.phase;
      streamer.timeout(ACK_TIMEOUT_MS).emitWithAck('heartbeat', withMeta ? { meta: { seq } } : undefined).then(
        (ack) => {
          if (!current() || phase === 'warmup' || phase !== this.phase) return;
          if (ack?.ok === true) this.rtts[phase].push(performance.now() - sent);
          else if (phase === 'fuzz') this.failures.add(`ack ${ack?.error?.code ?? 'malformed'}`);
        },
        () => current() && phase === 'fuzz' && this.phase === 'fuzz' && this.failures.add('ack timeout'),
      );
    }, HEARTBEAT_EVERY_MS);
  }

  close() {
    clearInterval(this.timer);
    this.streamer?.close();
    this.viewer?.close();
  }
}
