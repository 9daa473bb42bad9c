import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command } from 'ioredis';
import type { RedisClient } from '../../../redis/redis-client.js';

const PRELUDE = readLua('prelude.lua');

/**
 * A Lua script (the shared prelude + one body file), run by its SHA so only 40 bytes travel per call;
 * after a Redis restart or SCRIPT FLUSH the first call gets NOSCRIPT and sends the source once.
 */
export class LuaScript {
  private readonly source: string;
  private readonly sha: string;

  /** @param source the script itself, for one written inline (without the presence prelude); default: the prelude and `lua/<name>.lua` */
  constructor(
    readonly name: string,
    source?: string,
  ) {
    this.source = source ?? `${PRELUDE}\n${readLua(`${name}.lua`)}`;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.evaluate(keys, args, (name, argv) => redis.call(name, ...argv));
  }

  /**
   * As `run`, but written to Redis at once, past ioredis's auto-pipelining, for a call that is a batch
   * already (HeartbeatBatches). Auto-pipelining sends on the next setImmediate, which, asked from a
   * setImmediate callback, is the next turn of the event loop: a whole poll phase later.
   */
  runNow(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.evaluate(keys, args, (name, argv) => {
      const command = new FlatCommand(name, argv);
      void redis.sendCommand(command);
      return command.promise;
    });
  }

  /** EVALSHA through `send`; on NOSCRIPT, EVAL with the source (which loads it for the next calls). */
  private async evaluate(
    keys: readonly string[],
    args: readonly (string | number)[],
    send: (name: 'evalsha' | 'eval', argv: (string | number)[]) => Promise<unknown>,
  ): Promise<unknown> {
    try {
      return await send('evalsha', [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return send('eval', [this.source, keys.length, ...keys, ...args]);
    }
  }
}

/**
 * A command whose arguments are flat already (strings and numbers), given to ioredis as strings.
 * ioredis's Command flattens its arguments with Array.prototype.flat, which for a heartbeat batch (eight
 * arguments a heartbeat, a thousand a call) cost the pod half a microsecond a heartbeat (`npm run
 * bench`). Its constructor turns numbers into strings too; they are set after it, so that is done here.
 */
class FlatCommand extends Command {
  constructor(name: string, argv: readonly (string | number)[]) {
    super(name, [], { replyEncoding: 'utf8' });
    this.args = argv.map(String);
  }
}

function readLua(file: string): string {
  // The .lua files sit beside this module, in src/ (tests) and in dist/ (nest-cli copies them as assets).
  return readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
}
