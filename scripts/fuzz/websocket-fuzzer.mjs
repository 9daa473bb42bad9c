// A raw WebSocket fuzz client: speaks Engine.IO by hand (no socket.io-client), so it can send what a
// real client never would, and reconnects with a new session each time the server closes it.
import WebSocket from 'ws';
import { connectionState, newSession, reconnectDelay } from './connection-state.mjs';
import { frameSource } from './frame-source.mjs';
import { CROWD_ADDRESS, fuzzAddress } from './identities.mjs';
import { int, prng, streamSeed, weighted } from './prng.mjs';

/** Past this much unsent data the fuzzer skips a beat, so it tests the server's handling, not its own memory. */
const MAX_BUFFERED_BYTES = 512 * 1024;

const WS_QUERIES = [
  [95, 'EIO=4&transport=websocket'],
  [1, 'EIO=3&transport=websocket'],
  [1, 'EIO=5&transport=websocket'],
  [1, 'transport=websocket'],
  [1, 'EIO=4&transport=polling'],
  [1, 'EIO=4&transport=websocket&sid=fuzz-no-such-session'],
  [1, `EIO=4&transport=websocket&x=${'q'.repeat(6_000)}`],
];

export class WsFuzzer {
  /** `run`: the shared run context (see fuzzers.mjs). */
  constructor(index, run) {
    this.run = run;
    this.r = prng(streamSeed(run.seed, index));
    this.source = frameSource(this.r);
    this.address = index % 10 === 9 ? CROWD_ADDRESS : fuzzAddress(1, index);
    this.ws = null;
    this.state = null;
    this.timer = null;
  }

  connect() {
    const { run, r } = this;
    if (run.stopping) return;
    const session = newSession(r);
    run.stats.sessions.add(`ws ${session.tempo.name}`);
    const s = connectionState('websocket', session, run.tokens, run.stats);
    const ws = new WebSocket(`ws://127.0.0.1:${run.pod.port}/socket.io/?${weighted(r, WS_QUERIES)}`, {
      headers: { 'X-Forwarded-For': this.address },
      perMessageDeflate: false,
      handshakeTimeout: 5_000,
      maxPayload: 1024 * 1024,
    });
    this.ws = ws;
    this.state = s;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      run.stats.wsOpened += 1;
      if (session.tempo.ms !== null) this.tick(ws, s);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        run.stats.replies.add('binary');
        return;
      }
      // A client that never answers pings is the server's to notice; most do answer.
      if (s.onServerFrame(data.toString()) && r() < 0.9) ws.send('3');
    });
    ws.on('error', (error) => {
      if (!opened && !run.stopping) run.stats.handshakeFailures.add(/Unexpected server response: (\d+)/.exec(error.message)?.[1] ?? error.code ?? error.message);
    });
    ws.on('close', (code) => {
      clearTimeout(this.timer);
      if (run.stopping) return;
      s.settle();
      if (opened) {
        run.stats.serverClosed += 1;
        run.stats.closes.add(`ws ${code}`);
        run.stats.outcome(s.last, `closed ${code}`);
      }
      setTimeout(() => this.connect(), reconnectDelay(r));
    });
  }

  tick(ws, s) {
    const { run } = this;
    if (ws.readyState !== WebSocket.OPEN || run.stopping) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      run.stats.backoffs += 1;
    } else {
      const frame = this.source.next(s);
      s.last = frame;
      if (frame.action === 'ping-flood') {
        for (let i = 0; i < 20; i += 1) ws.ping();
        run.stats.sent(frame, 0, 'websocket');
      } else {
        ws.send(frame.data, { binary: frame.binary });
        run.stats.sent(frame, typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.length, 'websocket');
      }
    }
    const [lo, hi] = s.session.tempo.ms;
    this.timer = setTimeout(() => this.tick(ws, s), int(this.r, lo, hi));
  }

  stop() {
    clearTimeout(this.timer);
    this.state?.settle();
    this.ws?.terminate();
  }
}
