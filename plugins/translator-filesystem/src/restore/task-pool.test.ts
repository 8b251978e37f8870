import { TaskPool } from './task-pool';

/** A task that records how many tasks and how much weight were in flight when it started, then waits to be released. */
function harness(pool: TaskPool) {
  let running = 0;
  let weight = 0;
  const seen: Array<{ running: number; weight: number }> = [];
  const releases: Array<() => void> = [];
  const start = (w: number): Promise<void> =>
    pool.run(async () => {
      running++;
      weight += w;
      seen.push({ running, weight });
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      weight -= w;
    }, w);
  const releaseAll = async (): Promise<void> => {
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { start, seen, releaseAll };
}

describe('TaskPool', () => {
  it('keeps at most `limit` tasks in flight', async () => {
    const pool = new TaskPool(3);
    const h = harness(pool);
    const starting = Promise.all(Array.from({ length: 10 }, () => h.start(0)));
    const drained = (async () => {
      await new Promise((r) => setImmediate(r));
      while (h.seen.length < 10) await h.releaseAll();
    })();
    await Promise.all([starting, drained]);
    await h.releaseAll();
    await pool.drain();
    expect(Math.max(...h.seen.map((s) => s.running))).toBe(3);
  });

  it('keeps the weights in flight within the budget, and runs a task heavier than the budget alone', async () => {
    const pool = new TaskPool(32, 100);
    const h = harness(pool);
    const weights = [30, 30, 30, 30, 60, 250, 10, 10];
    const starting = (async () => {
      for (const w of weights) await h.start(w);
    })();
    while (h.seen.length < weights.length) {
      await new Promise((r) => setImmediate(r));
      await h.releaseAll();
    }
    await starting;
    await h.releaseAll();
    await pool.drain();
    expect(h.seen.every((s) => s.weight <= 100 || s.running === 1)).toBe(true);
    expect(h.seen[2]).toEqual({ running: 3, weight: 90 }); // three of 30 fit, the fourth waits
    expect(h.seen.find((s) => s.weight === 250)).toEqual({ running: 1, weight: 250 });
  });

  it('rethrows the first failure and starts nothing after it', async () => {
    const pool = new TaskPool(2);
    await pool.run(async () => {
      throw new Error('first');
    });
    await new Promise((r) => setImmediate(r));
    let ran = false;
    await expect(pool.run(async () => void (ran = true))).rejects.toThrow('first');
    expect(ran).toBe(false);
    await expect(pool.drain()).rejects.toThrow('first');
  });
});
