import { ConnectionQueue } from '../../../src/presence/application/connection-queue.js';

const later = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('ConnectionQueue', () => {
  it("runs one connection's operations in the order given, the next only once the one before settled", async () => {
    const queue = new ConnectionQueue();
    const log: string[] = [];
    const connect = queue.run('c1', async () => {
      log.push('connect starts');
      await later(30, null);
      log.push('connect ends');
    });
    const close = queue.run('c1', async () => {
      log.push('close starts');
    });
    await Promise.all([connect, close]);
    expect(log).toEqual(['connect starts', 'connect ends', 'close starts']);
  });

  it('a failed operation, thrown or rejected, does not hold back the next; each caller gets its own outcome', async () => {
    const queue = new ConnectionQueue();
    const thrown = queue.run('c1', () => {
      throw new Error('thrown');
    });
    const rejected = queue.run('c1', () => Promise.reject(new Error('rejected')));
    const next = queue.run('c1', async () => 'served');
    await expect(thrown).rejects.toThrow('thrown');
    await expect(rejected).rejects.toThrow('rejected');
    await expect(next).resolves.toBe('served');
  });

  it('other connections do not wait, and a connection with nothing in flight is forgotten', async () => {
    const queue = new ConnectionQueue();
    const slow = queue.run('c1', () => later(50, 'slow'));
    const started = performance.now();
    await queue.run('c2', () => later(1, 'fast'));
    expect(performance.now() - started).toBeLessThan(40);
    expect(queue.size).toBe(1);
    await slow;
    await later(0, null);
    expect(queue.size).toBe(0);
  });
});
