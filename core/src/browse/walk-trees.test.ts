import { walkTrees } from './walk-trees';

describe('walkTrees', () => {
  const graph: Record<string, string[]> = { r1: ['a', 'b'], r2: ['b', 'c'], a: ['d'], b: ['d'], c: [], d: [] };

  it('visits every reachable tree exactly once, at most `concurrency` at a time', async () => {
    const visits: string[] = [];
    let active = 0;
    let maxActive = 0;
    const { trees } = await walkTrees(['r1', 'r2', 'r1'], async (id) => {
      maxActive = Math.max(maxActive, ++active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      visits.push(id);
      return graph[id]!;
    }, { concurrency: 2 });
    expect(visits.sort()).toEqual(['a', 'b', 'c', 'd', 'r1', 'r2']);
    expect(trees).toBe(6);
    expect(maxActive).toBe(2);
  });

  it('rejects with the first error a visit throws, and with E_CANCELLED when aborted', async () => {
    await expect(walkTrees(['r1'], async (id) => {
      if (id === 'd') throw new Error('tree d is damaged');
      return graph[id]!;
    })).rejects.toThrow('tree d is damaged');
    const controller = new AbortController();
    controller.abort();
    await expect(walkTrees(['r1'], async (id) => graph[id]!, { signal: controller.signal })).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(await walkTrees([], async () => [])).toEqual({ trees: 0 });
  });
});
