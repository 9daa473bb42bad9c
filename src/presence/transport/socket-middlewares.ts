import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { ackError, type AckError } from '../domain/ack.js';
import { TokenBucket } from '../domain/token-bucket.js';
import { countRefusedConnect, FloodMeter } from './connection-guard.js';
import { refusalLog } from './socket-errors.js';
import type { Role } from '../../auth/identity.js';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { MetricsService } from '../../metrics/metrics.service.js';

type Next = (error?: Error) => void;

const logger = new Logger('Refusal');

/**
 * Refuses a socket's handshake: the client gets `connect_error` with `code` as its message. Counted
 * (metrics, and against the connection's refused-CONNECT budget) and logged.
 */
export function refuseHandshake(socket: Socket, code: string, next: Next, metrics: MetricsService, pod: string, context: Record<string, unknown> = {}): void {
  metrics.refusals.inc({ code });
  countRefusedConnect(socket);
  refusalLog.write(`handshake ${code}`, { msg: 'handshake refused', code, namespace: socket.nsp.name, socketId: socket.id, pod, ...context }, Date.now());
  next(new Error(code));
}

/**
 * Handshake authentication on a namespace. A refusal reaches the client as `connect_error` with message
 * "unauthorized", before any connection handler runs, so a refused socket never touches presence.
 */
export function authenticate(
  verifier: TokenVerifier,
  roles: readonly Role[],
  options: { anonymous: boolean; pod: string },
  metrics: MetricsService,
) {
  return (socket: Socket, next: Next): void => {
    const token: unknown = socket.handshake.auth?.token;
    if (token === undefined && options.anonymous) {
      socket.data.identity = null;
      next();
      return;
    }
    void verifier.verify(token).then((identity) => {
      if (identity === null || !roles.includes(identity.role)) {
        refuseHandshake(socket, 'unauthorized', next, metrics, options.pod);
        return;
      }
      socket.data.identity = identity;
      // The token has said what it had to: not kept for the connection's life (a secret in every heap
      // dump, and a few hundred bytes of each idle connection).
      (socket.handshake.auth as { token?: unknown }).token = undefined;
      next();
    });
  };
}

/** The message budget of one connection, shared by its sockets (one per namespace it joined). */
interface MessageBudget {
  readonly bucket: TokenBucket;
  readonly flood: FloodMeter;
  readonly rule: BudgetRule;
  /** Refusing now: one log line per flood, not one per dropped message (the log must not become the flood). */
  limited: boolean;
}

interface BudgetRule {
  readonly ratePerSecond: number;
  readonly metrics: MetricsService;
  readonly pod: string;
}

type BudgetedConnection = Socket['conn'] & { messageBudget?: MessageBudget };

/**
 * The per-connection message budget (see TokenBucket), as the contract has it: a connection carrying a
 * socket on each namespace gets one budget, not one per socket. An over-budget message is answered
 * with `rate_limited` when it asked for an ack, and is dropped before any handler sees it.
 */
export function rateLimit(ratePerSecond: number, metrics: MetricsService, pod: string) {
  const rule: BudgetRule = { ratePerSecond, metrics, pod };
  return (socket: Socket): void => {
    if (ratePerSecond === 0) return;
    const conn = socket.conn as BudgetedConnection;
    conn.messageBudget ??= { bucket: new TokenBucket(ratePerSecond, Date.now()), flood: new FloodMeter(ratePerSecond, Date.now()), rule, limited: false };
    socket.use((packet, next) => {
      const spent = spendMessage(socket);
      const ack = packet[packet.length - 1];
      if (spent === 'spent') next();
      else if (spent !== 'cut' && typeof ack === 'function') (ack as (answer: AckError) => void)(spent);
    });
  };
}

/** What spendMessage decided: handle the message, refuse it with this ack, or drop it (the connection was cut). */
export type Spent = 'spent' | 'cut' | AckError;

/**
 * Spends one message of the socket's connection budget (rateLimit): 'spent' when the message may be
 * handled. An over-budget one is counted and logged, and gets the `rate_limited` ack to answer with; past
 * the flood limit the connection is cut instead. Also for the messages taken before Socket.IO's
 * middlewares (event-lane.ts), so both ways in spend the same budget.
 */
export function spendMessage(socket: Socket): Spent {
  const budget = (socket.conn as BudgetedConnection).messageBudget;
  if (budget === undefined) return 'spent';
  if (budget.bucket.take(Date.now())) {
    budget.limited = false;
    return 'spent';
  }
  const { metrics, pod, ratePerSecond } = budget.rule;
  metrics.refusals.inc({ code: 'rate_limited' });
  if (budget.flood.refused(Date.now())) {
    logger.warn({ msg: 'flood: connection cut', namespace: socket.nsp.name, socketId: socket.id, pod });
    socket.conn.close();
    return 'cut';
  }
  if (!budget.limited) refusalLog.write('rate_limited', { msg: 'refused', code: 'rate_limited', namespace: socket.nsp.name, socketId: socket.id, pod }, Date.now());
  budget.limited = true;
  return ackError('rate_limited', `over ${ratePerSecond} messages per second`);
}
