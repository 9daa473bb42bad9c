import { createRequire } from 'node:module';
import { format } from 'node:util';
import { type DebugFactory, quietDebug } from '../../../src/logging/library-debug.js';

// The real `debug` package, as the libraries load it; each test enables the namespaces it needs.
const createDebug = createRequire(import.meta.url)('debug') as DebugFactory & {
  enable(namespaces: string): void;
  log: (...args: unknown[]) => void;
  inspectOpts: { colors?: boolean };
};

describe('quietDebug: the libraries get a no-op for every namespace DEBUG does not enable', () => {
  const written: unknown[][] = [];
  const log = createDebug.log;
  beforeEach(() => {
    written.length = 0;
    createDebug.log = (...args: unknown[]) => void written.push(args);
    // On a terminal `debug` colours its lines, which would split the namespace from the message.
    createDebug.inspectOpts.colors = false;
  });
  afterEach(() => {
    createDebug.log = log;
    delete createDebug.inspectOpts.colors;
    createDebug.enable('');
  });

  it('keeps the loggers DEBUG turns on, which still write', () => {
    createDebug.enable('socket.io:socket');
    const quiet = quietDebug(createDebug);
    const logger = quiet('socket.io:socket');
    expect(logger.enabled).toBe(true);
    logger('dispatching an event %s', 'heartbeat');
    expect(written).toHaveLength(1);
    expect(format(...written[0]!)).toContain('socket.io:socket dispatching an event heartbeat');
  });

  it('gives the others a logger that writes nothing, and says it is off', () => {
    createDebug.enable('socket.io:socket');
    const quiet = quietDebug(createDebug);
    const logger = quiet('engine:socket');
    expect(logger.enabled).toBe(false);
    expect(logger.namespace).toBe('engine:socket');
    logger('flushing buffer');
    expect(written).toHaveLength(0);
  });

  it('extends a namespace as debug does, each child on or off by DEBUG', () => {
    createDebug.enable('socket.io:redis:*');
    const quiet = quietDebug(createDebug);
    const parent = quiet('socket.io:redis');
    expect(parent.enabled).toBe(false);
    expect(parent.extend('sharded').enabled).toBe(true);
    expect(parent.extend('other', '-').namespace).toBe('socket.io:redis-other');
  });

  it('is what `require("debug").default` and `.debug` give too, as ioredis and the Socket.IO adapters reach the factory', () => {
    createDebug.enable('');
    const quiet = quietDebug(createDebug);
    expect(quiet.default).toBe(quiet);
    expect(quiet.debug).toBe(quiet);
    expect(quiet.debug!('socket.io-adapter').enabled).toBe(false);
  });

  it('leaves the rest to the package: a `log` set through the factory is the one its loggers write with', () => {
    createDebug.enable('ioredis:*');
    const quiet = quietDebug(createDebug) as typeof createDebug;
    const lines: string[] = [];
    quiet.log = (...args: unknown[]) => void lines.push(format(...args));
    quiet('ioredis:redis')('status %s', 'ready');
    expect(lines).toEqual([expect.stringContaining('ioredis:redis status ready')]);
  });
});
