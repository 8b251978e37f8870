import type { TreeEntry } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { initTestRepository } from '../repository/test-repository';
import { listSnapshots, loadSnapshot, removeSnapshot, saveSnapshot } from '../snapshots/snapshot-store';
import { makeSnapshot } from '../snapshots/test-snapshot';
import { saveDeltaBase } from './delta-base';
import { derivedRecordOf } from './derived-snapshot';
import { LAYERED_FORMAT, LAYERED_VERSION, layeredRecordOf } from './endpoint-snapshot';
import { assertForgettable } from './layer-references';
import { expandLayerStack, mergedViewOf } from './layer-stack';
import { encodeView } from './layer-view';
import type { ViewDir, ViewNode } from './layer-view';
import { rebaseEndpoint } from './rebase';
import { saveEndpointSnapshot } from './save-endpoint-snapshot';
import { synthesizeFull, synthesizeIncremental } from './synthesize';

/**
 * synthesize, rebase and delta-stored bases on a real (in-memory)
 * repository with hand-made trees: what they write is read back through the
 * same code restores use (expandLayerStack, mergedViewOf), and the forget
 * rules see through a base stored as an older base plus a delta.
 */
type Spec = { readonly [name: string]: string | Spec | TreeEntry };
function view(spec: Spec): ViewDir {
  const out = new Map<string, ViewNode>();
  for (const [name, v] of Object.entries(spec)) {
    if (typeof v === 'string') out.set(name, { entry: { name, kind: 'file', mode: 0o100644, uid: 0, gid: 0, mtimeNs: '1', size: v.length, content: [`c-${v}`] } as TreeEntry });
    else if (typeof v.kind === 'string' && typeof v.name === 'string') out.set(name, { entry: { ...(v as TreeEntry), name } });
    else out.set(name, { entry: { name, kind: 'dir', mode: 0o40755, uid: 0, gid: 0, mtimeNs: '1' } as TreeEntry, children: view(v as Spec) });
  }
  return out;
}
function flat(v: ViewDir, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { entry: e, children }] of v) {
    out[prefix + name] = `${e.kind} ${(e.mode ?? 0).toString(8)} ${(e.content ?? []).join('+')}`;
    if (children) Object.assign(out, flat(children, `${prefix}${name}/`));
  }
  return out;
}
const whiteout = { name: 'x', kind: 'chardev', mode: 0o20000, rdev: 0 } as TreeEntry;

async function ordinary(repo: Repository, v: ViewDir, dataset: string, tags: string[], time: string): Promise<SnapshotRecord> {
  const blobs = new Map<string, Buffer>();
  const { tree } = encodeView(v, repo.keys.id, blobs);
  const store = await BlobStore.open(repo);
  for (const [id, bytes] of blobs) await store.saveBlob('tree', id, bytes);
  await store.flush();
  const s = makeSnapshot({ dataset, tags, tree, time });
  return { ...s, id: await saveSnapshot(repo, s) };
}
const mergedFlat = async (repo: Repository, s: SnapshotRecord): Promise<Record<string, string>> => flat((await mergedViewOf(repo, await BlobStore.open(repo), s)).view);
const provider = { id: 'overlay', version: '0.1.0' };

describe('synthesize, rebase and delta-stored bases (in-memory repository)', () => {
  let repo: Repository;
  let v1: SnapshotRecord;
  let v2: SnapshotRecord;
  let endpoint: SnapshotRecord;
  const v1View = view({ etc: { hosts: 'h', conf: 'v1' }, usr: { tool: 't', lib: 'L' }, var: { c1: '1' } });
  const v2View = view({ etc: { hosts: 'h', conf: 'v2' }, usr: { lib: 'L', extra: 'e' }, var: { c1: '1' } });

  beforeAll(async () => {
    repo = await initTestRepository();
    v1 = await ordinary(repo, v1View, 'layer:sha256:' + '1'.repeat(64), ['base', 'layer', 'base-name:os'], '2025-03-01T09:00:00.000Z');
    const upper = await ordinary(repo, view({ etc: { hosts: whiteout, motd: 'mine' }, data: 'd' }), 'web#layer:upper', ['layer'], '2025-03-01T10:00:00.000Z');
    endpoint = (await saveEndpointSnapshot(repo, {
      record: { format: LAYERED_FORMAT, version: LAYERED_VERSION, provider, layout: 'overlayfs', source: 'overlayfs:/m', layers: [
        { id: 'lower-0', kind: 'base', order: 0, immutable: true, digest: 'sha256:' + '1'.repeat(64), snapshot: v1.id, action: 'referenced' },
        { id: 'upper', kind: 'upper', order: 1, immutable: false, snapshot: upper.id, action: 'stored' },
      ] },
      dataset: 'web', host: 'web1', tags: [], started: Date.now(), totals: [],
    })).snapshot;
    v2 = (await saveDeltaBase(repo, await BlobStore.open(repo), {
      older: v1, olderView: v1View, target: v2View, dataset: 'layer:sha256:' + '2'.repeat(64), tags: ['base-name:os'], host: 'h',
      translator: { id: 'filesystem', version: '0.1.0' }, source: '/srv/base-v2', provider, layout: 'overlayfs',
      op: 'base-delta', from: [v1.id], layers: [v1.id], started: Date.now(),
    })).snapshot;
  });

  it('a delta-stored base is a layered snapshot of the old version and a delta, and merges to the new version', async () => {
    expect(layeredRecordOf(v2)!.layers.map((l) => [l.id, l.snapshot === v1.id])).toEqual([['previous', true], ['delta', false]]);
    expect(v2.tags).toEqual(['base', 'base-name:os', 'layer']);
    expect(layeredRecordOf(v2)!.version).toBe(1); // its layers are ordinary snapshots
    expect(await mergedFlat(repo, v2)).toEqual(flat(v2View));
  });

  it('synthesize full writes the merged view as an ordinary snapshot that records where it came from', async () => {
    const full = (await synthesizeFull({ repository: repo, snapshot: endpoint })).snapshot;
    expect(full.dataset).toBe('web#full');
    expect(layeredRecordOf(full)).toBeUndefined();
    expect(derivedRecordOf(full)).toMatchObject({ op: 'synthetic-full', from: [endpoint.id] });
    expect(flat((await mergedViewOf(repo, await BlobStore.open(repo), full)).view)).toEqual(await mergedFlat(repo, endpoint));
    expect(full.summary).toMatchObject({ files: 6, bytesRead: 0 }); // etc/conf, etc/motd, usr/tool, usr/lib, var/c1, data
    const base = (await synthesizeFull({ repository: repo, snapshot: v2 })).snapshot;
    expect(base.dataset).toBe(v2.dataset); // a base's standalone form, in its own dataset
    expect(base.tags).toEqual(['base', 'base-name:os', 'layer', 'synthetic']);
  });

  it('rebase keeps the merged view, records the new base, and nests the delta-stored base when expanded', async () => {
    const r = await rebaseEndpoint({ repository: repo, endpoint, to: v2 });
    expect(await mergedFlat(repo, r.snapshot)).toEqual(await mergedFlat(repo, endpoint));
    expect(r.snapshot.parent).toBe(endpoint.id);
    expect(r.layer.dataset).toBe('web#layer:upper');
    // U' keeps usr/tool (gone from v2) and etc/conf v1, whites out usr/extra, leaves out what v2 has as is.
    expect(flat((await mergedViewOf(repo, await BlobStore.open(repo), r.layer)).view)).toMatchObject({ 'usr/tool': expect.stringContaining('c-t'), 'etc/conf': expect.stringContaining('c-v1') });
    expect(r.whiteouts).toBe(1); // usr/extra; etc keeps nothing of v2's etc, so it is opaque instead of whiting out hosts
    expect(layeredRecordOf(r.snapshot)!.layers.map((l) => l.snapshot)).toEqual([v2.id, r.layer.id]);
    // It names a layered base: version 2, which an ebm that cannot expand it refuses instead of restoring an empty base.
    expect(layeredRecordOf(r.snapshot)!.version).toBe(2);
    expect(layeredRecordOf(endpoint)!.version).toBe(1);
    const stack = await expandLayerStack(repo, r.snapshot);
    expect(stack.map((l) => [l.ref.id, l.ref.order])).toEqual([['lower-0.previous', 0], ['lower-0.delta', 1], ['upper', 2]]);
    await expect(rebaseEndpoint({ repository: repo, endpoint: r.snapshot, to: v2 })).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('forget sees through a delta-stored base: the old version stays while the new one names it', async () => {
    const all = (await listSnapshots(repo)).snapshots;
    const naming = (ids: readonly string[]): SnapshotRecord[] => all.filter((s) => layeredRecordOf(s)?.layers.some((l) => ids.includes(l.snapshot ?? '')));
    const direct = naming([v1.id]); // the endpoint on v1, and v2 (stored as v1 + delta)
    expect(direct.map((s) => s.dataset).sort()).toEqual(['layer:sha256:' + '2'.repeat(64), 'web']);
    expect(() => assertForgettable(all, [v1])).toThrow(/layer:sha256:2{64}/);
    // v2 itself is named by the rebased endpoint: forgetting v1 and v2 needs that endpoint gone too.
    expect(() => assertForgettable(all, [v1, ...direct])).toThrow(/\(web\)/);
    expect(() => assertForgettable(all, [v1, ...direct, ...naming(direct.map((s) => s.id))])).not.toThrow();
  });

  it('collapse: a chain of two deltas becomes one delta on the bottom, equal to the chain', async () => {
    const v3View = view({ etc: { conf: 'v3' }, usr: { lib: 'L', extra: 'e' }, var: {}, opt: 'o' });
    const v3 = (await saveDeltaBase(repo, await BlobStore.open(repo), {
      older: v2, olderView: v2View, target: v3View, dataset: 'layer:sha256:' + '3'.repeat(64), tags: ['base-name:os'], host: 'h',
      translator: { id: 'filesystem', version: '0.1.0' }, source: '/srv/base-v3', provider, layout: 'overlayfs',
      op: 'base-delta', from: [v2.id], layers: [v2.id], started: Date.now(),
    })).snapshot;
    expect((await expandLayerStack(repo, v3)).map((l) => l.ref.id)).toEqual(['previous.previous', 'previous.delta', 'delta']);
    const c = await synthesizeIncremental({ repository: repo, from: v1, to: v3 });
    expect(c.collapsed).toHaveLength(2);
    expect((await expandLayerStack(repo, c.snapshot)).map((l) => l.snapshot.id)).toEqual([v1.id, c.delta.id]);
    expect(await mergedFlat(repo, c.snapshot)).toEqual(flat(v3View));
    await expect(synthesizeIncremental({ repository: repo, from: endpoint, to: v3 })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(synthesizeIncremental({ repository: repo, from: v2, to: v3 })).rejects.toThrow(/nothing to collapse/);
  });

  it('a missing nested layer stops a stack expansion, naming it by its nested id', async () => {
    const delta = layeredRecordOf(v2)!.layers[1]!.snapshot!;
    const r = (await listSnapshots(repo)).snapshots.find((s) => s.dataset === 'web' && s.parent === endpoint.id)!;
    await removeSnapshot(repo, delta);
    await expect(expandLayerStack(repo, await loadSnapshot(repo, r.id))).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND', message: expect.stringContaining('lower-0.delta') });
  });
});
