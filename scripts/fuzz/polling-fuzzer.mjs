// An Engine.IO long-polling fuzz client: one GET always waiting (as a client keeps one), POSTs of 1 to 3
// frames separated by \x1e, now and then to a wrong sid or protocol version. A session whose GET or POST
// fails is given up on without a word, as a vanished client would: the pod must clean it up.
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionState, newSession, reconnectDelay } from './connection-state.mjs';
import { frameSource } from './frame-source.mjs';
import { fuzzAddress } from './identities.mjs';
import { int, prng, streamSeed, weighted } from './prng.mjs';

/** Longer than pingInterval + pingTimeout (45 s): a poll answered by nothing else gets the server's ping. */
const POLL_TIMEOUT_MS = 50_000;

/** Never rejects: a failure is an answer too, as its status ('timeout', 'reset', an error code). */
function httpCall({ port, method = 'GET', path, headers, body, agent, timeoutMs }) {
  return new Promise((resolve) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
      const chunks = [];
      let size = 0;
      response.on('data', (chunk) => {
        if (size < 1024 * 1024) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString() }));
      response.on('error', () => resolve({ status: 'reset', body: '' }));
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error('timeout')));
    request.on('error', (error) => resolve({ status: error.message === 'timeout' ? 'timeout' : (error.code ?? 'error'), body: '' }));
    request.end(body);
  });
}

/** The first is the right one; the others must be refused without harming the session. */
const POST_QUERIES = [
  [90, (sid) => `EIO=4&transport=polling&sid=${sid}`],
  [2, () => 'EIO=4&transport=polling&sid=fuzz-no-such-session'],
  [2, () => 'EIO=4&transport=polling'],
  [2, (sid) => `EIO=3&transport=polling&sid=${sid}`],
  [2, (sid) => `EIO=4&transport=websocket&sid=${sid}`],
  [2, (sid) => `EIO=4&transport=polling&sid=${sid}&sid=${sid}`],
];

export class PollingFuzzer {
  /** `run`: the shared run context (see fuzzers.mjs). */
  constructor(index, run) {
    this.run = run;
    this.r = prng(streamSeed(run.seed, 10_000 + index));
    this.source = frameSource(this.r);
    this.address = fuzzAddress(2, index);
    this.agent = null;
  }

  async loop() {
    while (!this.run.stopping) {
      await this.session();
      await sleep(reconnectDelay(this.r));
    }
  }

  async session() {
    const { run, r } = this;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    this.agent = agent;
    const call = (options) => httpCall({ port: run.pod.port, agent, headers: { 'X-Forwarded-For': this.address }, timeoutMs: 5_000, ...options });
    try {
      const open = await call({ path: '/socket.io/?EIO=4&transport=polling' });
      const sid = open.status === 200 ? /"sid":"([^"]+)"/.exec(open.body)?.[1] : undefined;
      if (sid === undefined) {
        run.stats.handshakeFailures.add(`polling ${open.status}`);
        return;
      }
      run.stats.pollingOpened += 1;
      const session = newSession(r);
      run.stats.sessions.add(`polling ${session.tempo.name}`);
      const s = connectionState('polling', session, run.tokens, run.stats);
      const talk = { alive: true, pongs: 0, closedBy: null };
      const polling = this.poll(call, sid, s, talk);
      await this.post(call, sid, s, talk);
      if (!run.stopping) {
        run.stats.serverClosed += 1;
        run.stats.closes.add(`polling ${talk.closedBy}`);
        run.stats.outcome(s.last, `closed ${talk.closedBy}`);
      }
      s.settle();
      // The poll may still be waiting on a session the server already dropped; destroying the agent ends it.
      agent.destroy();
      await polling;
    } finally {
      agent.destroy();
    }
  }

  /** The GET side: reads server frames until the session ends; counts the pings the next POST answers. */
  async poll(call, sid, s, talk) {
    while (talk.alive && !this.run.stopping) {
      const answer = await call({ path: `/socket.io/?EIO=4&transport=polling&sid=${sid}`, timeoutMs: POLL_TIMEOUT_MS });
      if (answer.status !== 200) {
        talk.closedBy ??= `poll ${answer.status}`;
        talk.alive = false;
        break;
      }
      for (const frame of answer.body.split('\x1e')) {
        if (s.onServerFrame(frame)) talk.pongs += 1;
        if (frame === '1') {
          talk.closedBy ??= 'close packet';
          talk.alive = false;
        }
      }
    }
  }

  /** The POST side: at the session's tempo, the pongs owed and 1 to 3 fuzz frames in one body. */
  async post(call, sid, s, talk) {
    const { run, r } = this;
    const { tempo } = s.session;
    while (talk.alive && !run.stopping) {
      const [lo, hi] = tempo.ms ?? [1_000, 1_000];
      await sleep(int(r, lo, hi));
      if (!talk.alive || tempo.ms === null) continue;
      const parts = [];
      for (; talk.pongs > 0; talk.pongs -= 1) parts.push(Buffer.from('3'));
      for (let n = int(r, 1, 3); n > 0; n -= 1) {
        const frame = this.source.next(s);
        s.last = frame;
        const bytes = typeof frame.data === 'string' ? Buffer.from(frame.data) : frame.data;
        parts.push(bytes);
        run.stats.sent(frame, bytes.length, 'polling');
      }
      const body = Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.from('\x1e'), part])));
      const usual = r() >= 0.1;
      const query = usual ? POST_QUERIES[0][1](sid) : weighted(r, POST_QUERIES)(sid);
      const answer = await call({ method: 'POST', path: `/socket.io/?${query}`, body, headers: { 'X-Forwarded-For': this.address, 'Content-Type': 'text/plain;charset=UTF-8' } });
      run.stats.pollingPosts.add(String(answer.status));
      // A refused odd query says nothing about the session; a refused usual one ends it.
      if (usual && answer.status !== 200) {
        talk.closedBy ??= `post ${answer.status}`;
        talk.alive = false;
      }
    }
  }

  stop() {
    this.agent?.destroy();
  }
}
