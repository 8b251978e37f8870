import { decodeTree } from '@ebm/sdk';
import type { TreeEntry, Warning } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { initTestRepository } from '../repository/test-repository';
import { listSnapshots, saveSnapshot } from '../snapshots/snapshot-store';
import { makeSnapshot } from '../snapshots/test-snapshot';
import { addWhiteouts } from './layer-whiteouts';
import { loadView, encodeView } from './layer-view';
import type { ViewDir, ViewNode } from './layer-view';
import { mergedViewOf } from './layer-stack';
import { saveEndpointSnapshot } from './save-endpoint-snapshot';
import { LAYERED_FORMAT, LAYERED_VERSION } from './endpoint-snapshot';

/**
 * addWhiteouts on a real (in-memory) repository with hand-made trees: the
 * layer snapshot is replaced by one holding the whiteouts, untouched
 * subtrees keep their ids, and a flattened view (mergedViewOf, as restores
 * use it) loses the deleted paths.
 */
type Spec = { readonly [name: string]: string | Spec };
function view(spec: Spec): ViewDir {
  const out = new Map<string, ViewNode>();
  for (const [name, v] of Object.entries(spec)) {
    if (typeof v === 'string') out.set(name, { entry: { name, kind: 'file', mode: 0o100644, uid: 0, gid: 0, mtimeNs: '1', size: v.length, content: [`c-${v}`] } as TreeEntry });
    else out.set(name, { entry: { name, kind: 'dir', mode: 0o40755, uid: 0, gid: 0, mtimeNs: '1' } as TreeEntry, children: view(v) });
  }
  return out;
}
function paths(v: ViewDir, prefix = ''): string[] {
  return [...v].flatMap(([name, { entry, children }]) => [`${prefix}${name} ${entry.kind}`, ...(children ? paths(children, `${prefix}${name}/`) : [])]);
}
async function stored(repo: Repository, v: ViewDir, dataset: string, time: string): Promise<SnapshotRecord> {
  const blobs = new Map<string, Buffer>();
  const { tree, tally } = encodeView(v, repo.keys.id, blobs);
  const store = await BlobStore.open(repo);
  for (const [id, bytes] of blobs) await store.saveBlob('tree', id, bytes);
  await store.flush();
  const s = makeSnapshot({ dataset, tree, time });
  const snapshot = { ...s, summary: { ...s.summary, files: tally.files, dirs: tally.dirs, others: tally.others } };
  return { ...snapshot, id: await saveSnapshot(repo, snapshot) };
}

describe('addWhiteouts (deletions of a layer-map layer)', () => {
  it('replaces the layer snapshot by one with whiteouts, and the flattened view loses the deleted paths', async () => {
    const repo = await initTestRepository();
    const base = await stored(repo, view({ etc: { hosts: 'h', 'old.conf': 'o' }, usr: { lib: { 'libc.so': 'L' } }, var: { log: 'x' } }), 'layer:sha256:' + '1'.repeat(64), '2025-03-01T09:00:00.000Z');
    const layer = await stored(repo, view({ etc: { hosts: 'edited' }, usr: { lib: {} } }), 'm1#layer:os', '2025-03-01T10:00:00.000Z');
    const warnings: Warning[] = [];
    const done = await addWhiteouts(repo, layer, ['etc/old.conf', 'usr/lib/libc.so', 'var', 'etc/hosts', 'opt/gone'], (w) => warnings.push(w));

    expect(done.whiteouts).toBe(3);
    // etc/hosts exists in the layer (it came back): the live entry wins; opt is not in the layer: no place for a whiteout.
    expect(warnings.map((w) => w.path)).toEqual(['etc/hosts', 'opt']);
    const snapshots = (await listSnapshots(repo)).snapshots.map((s) => s.id);
    expect(snapshots).toContain(done.snapshot.id);
    expect(snapshots).not.toContain(layer.id);
    expect(done.snapshot.summary.others).toBe(layer.summary.others + 3);
    expect(done.snapshot).toMatchObject({ dataset: 'm1#layer:os', translator: layer.translator });
    expect(done.snapshot.parent).toBe(layer.parent);

    const store = await BlobStore.open(repo);
    const load = async (id: string): Promise<readonly TreeEntry[]> => decodeTree(await store.loadBlob(id)).entries;
    expect(paths(await loadView(done.snapshot.tree, load)).sort()).toEqual([
      'etc dir', 'etc/hosts file', 'etc/old.conf chardev', 'usr dir', 'usr/lib dir', 'usr/lib/libc.so chardev', 'var chardev',
    ]);
    const endpoint = (await saveEndpointSnapshot(repo, {
      record: { format: LAYERED_FORMAT, version: LAYERED_VERSION, provider: { id: 'overlay', version: '0.1.0' }, layout: 'layer-map', source: 'layer-map:/m1', layers: [
        { id: 'base', kind: 'base', order: 0, immutable: true, snapshot: base.id, action: 'stored' },
        { id: 'os', kind: 'os', order: 1, immutable: false, snapshot: done.snapshot.id, action: 'stored' },
      ] },
      dataset: 'm1', host: 'm1', tags: [], started: Date.now(), totals: [],
    })).snapshot;
    expect(paths((await mergedViewOf(repo, store, endpoint)).view).sort()).toEqual(['etc dir', 'etc/hosts file', 'usr dir', 'usr/lib dir']);
  });

  it('leaves the snapshot alone when there is nothing to delete', async () => {
    const repo = await initTestRepository();
    const layer = await stored(repo, view({ home: { ann: 'n' } }), 'm1#layer:user-data', '2025-03-01T10:00:00.000Z');
    expect(await addWhiteouts(repo, layer, [])).toEqual({ snapshot: layer, whiteouts: 0 });
    expect(await addWhiteouts(repo, layer, ['home/ann'])).toEqual({ snapshot: layer, whiteouts: 0 }); // it exists: no whiteout, same snapshot
    expect((await listSnapshots(repo)).snapshots.map((s) => s.id)).toEqual([layer.id]);
  });
});
