// Picks a connection's next frame: a builder by weight, with the session's hostile rate a hostile value
// put into it, with its mutation rate its bytes mangled; and tells the connection what to expect back.
import { BUILDERS } from './frames.mjs';
import { HOSTILE, MUTATIONS } from './mutations.mjs';
import { pick, weighted } from './prng.mjs';
import { parseSocketIo } from './socket-io-text.mjs';

const MUTATION_NAMES = Object.keys(MUTATIONS);

/**
 * `next(s)` draws from `r` only, so a connection's choices replay with the seed. It returns
 * `{ kind, hostile, data, binary, action }` and notes in `s` (connection-state.mjs) the answers it is owed.
 */
export function frameSource(r) {
  return {
    next(s) {
      const builders = BUILDERS.filter((b) => s.transport === 'websocket' || !b.wsOnly);
      const builder = weighted(r, builders.map((b) => [b.weight(s), b]));
      const [hostile, hostileText] = builder.hostile && r() < s.session.hostileRate ? pick(r, HOSTILE) : [null, null];
      const built = builder.build(r, s, hostile === null ? null : { text: hostileText(r) });
      let kind = (built.kind ?? builder.kind) + (hostile ? ' (hostile)' : '');
      let { data } = built;
      const mutated = typeof data === 'string' && r() < s.session.mutationRate;
      if (mutated) {
        const mutation = pick(r, MUTATION_NAMES);
        data = MUTATIONS[mutation](r, data);
        kind = `~${mutation}`;
      }
      // The hostile-value table is about well-formed frames; a mangled one counts as its mutation only.
      const tag = { kind, hostile: mutated ? null : hostile };
      // A mangled frame may still be answered, but owes no answer.
      if (built.ackId && s.joined.has(built.ackNs)) s.expectAck(built.ackId, tag, mutated || built.unanswered === true);
      // Whatever was sent that still reads as a CONNECT gets an answer: queued by the namespace it names.
      const sio = typeof data === 'string' ? parseSocketIo(data) : null;
      if (sio?.type === '0') s.expectConnect(sio.ns, tag);
      return { ...tag, data, binary: built.binary === true, action: built.action };
    },
  };
}
