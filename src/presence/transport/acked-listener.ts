import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';

const logger = new Logger('AckedListener');

/**
 * A Socket.IO listener for one message type, shared by every socket of a namespace (`this` is the
 * socket): it calls `handle(socket, payload)` and sends what it returns as the message's ack. The
 * payload and ack are read as NestJS reads them (the arguments before a trailing function; one is the
 * payload itself, several an array). An error `handle` lets through is logged, never thrown.
 *
 * For the messages every connection sends all the time (the streamer's `heartbeat`): bound through
 * NestJS's context (guards, pipes, filters, parameter decorators; none of which those use), a heartbeat
 * spent 9 µs of its 33 µs of pod CPU outside the write in NestJS's frames (`npm run bench` CPU profile,
 * embedded mode).
 */
export function ackedListener<S extends Socket, A>(handle: (socket: S, payload: unknown) => A | Promise<A>) {
  return function (this: S, ...args: unknown[]): void {
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (last as (answer: A) => void) : undefined;
    const payload = payloadOf(args, 0, ack === undefined ? args.length : args.length - 1);
    let answer: A | Promise<A>;
    try {
      answer = handle(this, payload);
    } catch (error) {
      logger.error(error);
      return;
    }
    if (answer instanceof Promise) answer.then((value) => ack?.(value), (error: unknown) => logger.error(error));
    else ack?.(answer);
  };
}

/**
 * A handler's payload from a message's arguments `args[from..to)` (the ack left out), as NestJS reads
 * them: none is undefined, one is the payload itself, several are an array.
 */
export function payloadOf(args: readonly unknown[], from: number, to: number): unknown {
  const count = to - from;
  return count <= 0 ? undefined : count === 1 ? args[from] : args.slice(from, to);
}
