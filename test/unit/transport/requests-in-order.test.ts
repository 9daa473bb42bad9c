import { RequestsInOrder } from '../../../src/presence/transport/requests-in-order.js';

/** A request that answers when the test says so. */
function deferred<T>() {
  let answer!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => ((answer = resolve), (fail = reject)));
  return { promise, answer, fail };
}

describe("RequestsInOrder: one socket's requests, each started once the one before has answered", () => {
  test('with nothing waiting a request starts at once, in the same tick', () => {
    const requests = new RequestsInOrder(10);
    const started: string[] = [];
    void requests.run(() => started.push('first'));
    expect(started).toEqual(['first']);
  });

  test('a later request waits for the answer of the one before, even a quick one behind a slow one', async () => {
    const requests = new RequestsInOrder(10);
    const order: string[] = [];
    const slow = deferred<string>();
    const first = requests.run(() => (order.push('slow started'), slow.promise));
    const second = requests.run(() => (order.push('quick started'), 'quick'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['slow started']);
    slow.answer('slow');
    expect(await first).toBe('slow');
    expect(await second).toBe('quick');
    expect(order).toEqual(['slow started', 'quick started']);
    expect(requests.pending).toBe(0);
  });

  test('a failed request does not stop the ones behind it; its failure stays its own', async () => {
    const requests = new RequestsInOrder(10);
    const failing = requests.run(() => Promise.reject(new Error('store down')));
    const throwing = requests.run(() => {
      throw new Error('bad');
    });
    const after = requests.run(() => 'served');
    await expect(failing).rejects.toThrow('store down');
    await expect(throwing).rejects.toThrow('bad');
    expect(await after).toBe('served');
  });

  test('past the limit a request is not taken (null); once answers come, requests are taken again', async () => {
    const requests = new RequestsInOrder(2);
    const held = deferred<void>();
    const taken = [requests.run(() => held.promise), requests.run(() => undefined)];
    expect(requests.run(() => undefined)).toBeNull();
    held.answer();
    await Promise.all(taken);
    expect(requests.pending).toBe(0);
    expect(requests.run(() => 'again')).not.toBeNull();
  });
});
