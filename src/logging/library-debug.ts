import { createRequire } from 'node:module';

/** The `debug` package's factory, as the libraries call it: a namespace in, a logger out. */
export interface DebugFactory {
  (namespace: string): DebugLogger;
  default?: DebugFactory;
  debug?: DebugFactory;
}

/** The part of a `debug` logger the libraries use. */
export interface DebugLogger {
  (...args: unknown[]): void;
  readonly enabled: boolean;
  readonly namespace: string;
  extend(sub: string, delimiter?: string): DebugLogger;
  destroy(): boolean;
}

/**
 * Libraries whose every message goes through `debug` (Socket.IO, engine.io, their parser and adapters,
 * ioredis). Some install a copy of their own (the Redis adapter does), so each is asked which it loads.
 */
const TRACING_LIBRARIES = ['socket.io', 'engine.io', 'socket.io-parser', 'socket.io-adapter', '@socket.io/redis-adapter', 'ioredis'];

/**
 * `createDebug` as it is, but a namespace that DEBUG does not turn on gets a logger that does nothing.
 * A disabled `debug` logger still costs each call (a rest-argument array, the `enabled` getter): about
 * 30 ns against 5 ns for a no-op, and Socket.IO and engine.io make 13 such calls for every heartbeat (the
 * lines they print with DEBUG on). In the embedded pod's CPU profile under the heartbeat loop, `debug`'s
 * frames were 0.5 µs of a heartbeat's 21.9 µs. The trade-off: DEBUG is read when a library creates its
 * loggers, at start, as `debug` itself reads it then; a later `debug.enable()` turns on no logger
 * created while off.
 */
export function quietDebug(createDebug: DebugFactory): DebugFactory {
  const quiet: DebugFactory = new Proxy(createDebug, {
    apply(target, _this, [namespace]: [string]) {
      const logger = target(namespace);
      return logger.enabled ? logger : silent(namespace, quiet);
    },
    // `debug` hands itself out as `.default` and `.debug` too: ioredis and the Socket.IO adapters reach
    // the factory so. Every other property (`enable`, `log`, `names`, …) is the package's own, read and
    // set there, where its loggers look.
    get(target, property) {
      return property === 'default' || property === 'debug' ? quiet : Reflect.get(target, property);
    },
  });
  return quiet;
}

function silent(namespace: string, factory: DebugFactory): DebugLogger {
  const logger = (() => {}) as unknown as DebugLogger & { enabled: boolean; namespace: string };
  logger.enabled = false;
  logger.namespace = namespace;
  logger.extend = (sub: string, delimiter = ':') => factory(`${namespace}${delimiter}${sub}`);
  logger.destroy = () => false;
  return logger;
}

/**
 * Puts `quietDebug` in place of every copy of `debug` the tracing libraries load, before any of them
 * is loaded (main.ts imports this first). Returns the copies that were loaded already, whose loggers
 * some module may hold as they were: empty when it ran first.
 */
export function quietLibraryDebug(): string[] {
  const require = createRequire(import.meta.url);
  const loadedBefore: string[] = [];
  for (const path of new Set(TRACING_LIBRARIES.flatMap((library) => debugCopyOf(require, library)))) {
    if (require.cache[path] !== undefined) loadedBefore.push(path);
    const createDebug = require(path) as DebugFactory;
    require.cache[path]!.exports = quietDebug(createDebug);
  }
  return loadedBefore;
}

function debugCopyOf(require: NodeJS.Require, library: string): string[] {
  try {
    return [createRequire(require.resolve(library)).resolve('debug')];
  } catch {
    return [];
  }
}
