import fs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';
import { walkLayer } from './walk';

/**
 * The walk's order is part of every base's identity (the tree digest hashes
 * entries in walk order), so it is pinned here: depth-first pre-order, names
 * sorted, a directory's contents right after it. The walk is synchronous per
 * entry, so it must still give the event loop a turn for an abort to land.
 */
describe('walkLayer', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-walk-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const paths = async (root: string, skip?: (rel: string) => boolean): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of walkLayer(root, new AbortController().signal, 'test', skip)) out.push(`${e.type}:${e.path}`);
    return out;
  };

  it('yields depth-first pre-order with sorted names, and prunes skipped subtrees', async () => {
    for (const d of ['b/y', 'b/x/deep', 'a', 'c']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of ['b/x/deep/f', 'b/x/g', 'b/a-file', 'a/1', 'top', 'c/z']) fs.writeFileSync(path.join(dir, f), f);
    fs.symlinkSync('top', path.join(dir, 'link'));
    expect(await paths(dir)).toEqual([
      'dir:a', 'file:a/1',
      'dir:b', 'file:b/a-file', 'dir:b/x', 'dir:b/x/deep', 'file:b/x/deep/f', 'file:b/x/g', 'dir:b/y',
      'dir:c', 'file:c/z',
      'symlink:link', 'file:top',
    ]);
    expect(await paths(dir, (rel) => rel === 'b/x')).toEqual([
      'dir:a', 'file:a/1', 'dir:b', 'file:b/a-file', 'dir:b/y', 'dir:c', 'file:c/z', 'symlink:link', 'file:top',
    ]);
  });

  it('sees an abort that arrives from a timer while it walks a large tree', async () => {
    for (let d = 0; d < 300; d++) {
      fs.mkdirSync(path.join(dir, `d${d}`));
      for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(dir, `d${d}`, `f${f}`), '');
    }
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1);
    let seen = 0;
    const walk = async (): Promise<void> => {
      // Loops over the walk the way a discovery does: no await of anything but the walk itself.
      for await (const _ of walkLayer(dir, controller.signal, 'discover')) seen++;
    };
    // Either the abort landed mid-walk (E_CANCELLED, fewer entries than the tree has), or the walk
    // finished before the timer could fire at all; the second is only possible if the walk never yields.
    await expect(walk()).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(seen).toBeLessThan(300 * 31);
  });
});
