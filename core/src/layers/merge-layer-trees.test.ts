import { randomBytes } from 'node:crypto';
import { computeBlobId, decodeTree, encodeTree } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import { mergeLayerTrees } from './merge-layer-trees';

/**
 * The merged view of layer trees follows overlayfs' rules. Trees here are
 * real encoded tree blobs in a map (the same bytes and ids a repository
 * holds); the e2e test (test/src/e2e/layers.test.ts) compares the result
 * with a real merged overlay mount.
 */
const key = randomBytes(32);
const blobs = new Map<string, Buffer>();
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A directory spec: name → file content (string), sub-directory (object), or a ready entry. */
type Spec = { readonly [name: string]: string | Spec | TreeEntry };
const isEntry = (v: string | Spec | TreeEntry): v is TreeEntry => typeof v === 'object' && typeof (v as TreeEntry).kind === 'string' && typeof (v as TreeEntry).name === 'string';

function tree(spec: Spec): string {
  const entries = Object.entries(spec).map(([name, v]): TreeEntry => {
    if (typeof v === 'string') return { name, kind: 'file', mode: 0o100644, size: v.length, content: [`content-of:${v}`] } as TreeEntry;
    if (isEntry(v)) return { ...v, name };
    return { name, kind: 'dir', mode: 0o40755, subtree: tree(v) } as TreeEntry;
  });
  const bytes = encodeTree(entries);
  const id = computeBlobId(key, bytes);
  blobs.set(id, bytes);
  return id;
}
const dir = (children: Spec, xattrs: Record<string, string>): TreeEntry => ({ name: 'x', kind: 'dir', mode: 0o40755, subtree: tree(children), xattrs: Object.entries(xattrs).map(([name, v]) => ({ name, value: b64(v) })) }) as TreeEntry;
const whiteout: TreeEntry = { name: 'x', kind: 'chardev', mode: 0o20000, rdev: 0 } as TreeEntry;
const xwhiteout: TreeEntry = { name: 'x', kind: 'file', mode: 0o100644, size: 0, content: [], xattrs: [{ name: 'trusted.overlay.whiteout', value: '' }] } as TreeEntry;

/** The merged view as path → 'dir' | file content id | 'mode:…' details, for readable expectations. */
async function view(layers: string[], extra?: (e: TreeEntry, p: string) => string): Promise<Record<string, string>> {
  const merged = await mergeLayerTrees(layers.map((t) => ({ tree: t })), async (id) => decodeTree(blobs.get(id)!).entries, key);
  const out: Record<string, string> = {};
  const walk = (id: string, prefix: string): void => {
    for (const e of decodeTree(merged.blobs.get(id)!).entries) {
      const p = prefix + e.name;
      out[p] = e.kind === 'dir' ? 'dir' : `${e.kind}:${(e.content ?? []).join('+')}${extra ? extra(e, p) : ''}`;
      if (e.kind === 'dir') walk(e.subtree!, `${p}/`);
    }
  };
  walk(merged.tree, '');
  return out;
}

describe('mergeLayerTrees (overlay rules)', () => {
  const base = tree({ etc: { hosts: 'h', motd: 'm' }, srv: { old: { x: 'x' } }, var: { cache: { c1: 'c1' } }, usr: { bin: 'b' } });

  it('upper files replace, whiteouts delete (device and xattr form), directories merge', async () => {
    const upper = tree({ etc: { hosts: whiteout, motd: 'm2', added: 'a' }, usr: { bin: xwhiteout } });
    expect(await view([base, upper])).toEqual({
      etc: 'dir', 'etc/motd': 'file:content-of:m2', 'etc/added': 'file:content-of:a',
      srv: 'dir', 'srv/old': 'dir', 'srv/old/x': 'file:content-of:x',
      var: 'dir', 'var/cache': 'dir', 'var/cache/c1': 'file:content-of:c1', usr: 'dir',
    });
  });

  it('an opaque directory hides what is below; "x" (xwhiteouts inside) does not', async () => {
    const upper = tree({ var: { cache: dir({ fresh: 'f' }, { 'trusted.overlay.opaque': 'y' }) }, etc: dir({ new: 'n' }, { 'trusted.overlay.opaque': 'x' }) });
    const v = await view([base, upper], (e) => (e.xattrs ? ` xattrs=${e.xattrs.map((x) => x.name).join(',')}` : ''));
    expect(v['var/cache/fresh']).toBe('file:content-of:f');
    expect(v['var/cache/c1']).toBeUndefined();
    expect(v['etc/hosts']).toBe('file:content-of:h');
    expect(v['etc/new']).toBe('file:content-of:n');
    // overlay's own xattrs never reach the merged view
    expect(Object.values(v).some((s) => s.includes('overlay'))).toBe(false);
  });

  it('a redirected directory continues the lower directory it names (absolute and relative), the old name whited out', async () => {
    const upper = tree({ srv: { old: whiteout, new: dir({ y: 'y' }, { 'trusted.overlay.redirect': '/srv/old' }), rel: dir({}, { 'user.overlay.redirect': 'old' }) } });
    const v = await view([base, upper]);
    expect(v['srv/old']).toBeUndefined();
    expect(v['srv/new/x']).toBe('file:content-of:x');
    expect(v['srv/new/y']).toBe('file:content-of:y');
    expect(v['srv/rel/x']).toBe('file:content-of:x');
  });

  it('a metacopy file takes its metadata from its layer and its data from below', async () => {
    const meta: TreeEntry = { name: 'x', kind: 'file', mode: 0o100600, size: 1, content: ['zeros'], xattrs: [{ name: 'trusted.overlay.metacopy', value: '' }] } as TreeEntry;
    const upper = tree({ usr: { bin: meta } });
    const v = await view([base, upper], (e) => ` mode=${(e.mode ?? 0).toString(8)} size=${e.size}`);
    expect(v['usr/bin']).toBe('file:content-of:b mode=100600 size=1');
  });

  it('applies several layers in order: a lower whiteout hides the bottom, an upper file brings a name back', async () => {
    const l1 = tree({ etc: { hosts: whiteout } });
    const l2 = tree({ etc: { hosts: 'h3' } });
    expect((await view([base, l1]))['etc/hosts']).toBeUndefined();
    expect((await view([base, l1, l2]))['etc/hosts']).toBe('file:content-of:h3');
  });

  it('drops whiteouts found in the bottom layer and gives the same ids for the same view', async () => {
    const bottom = tree({ a: 'a', b: whiteout });
    const one = await mergeLayerTrees([{ tree: bottom }], async (id) => decodeTree(blobs.get(id)!).entries, key);
    const again = await mergeLayerTrees([{ tree: bottom }], async (id) => decodeTree(blobs.get(id)!).entries, key);
    expect(decodeTree(one.blobs.get(one.tree)!).entries.map((e) => e.name)).toEqual(['a']);
    expect(again.tree).toBe(one.tree);
    expect(one.tree).toBe(computeBlobId(key, one.blobs.get(one.tree)!));
  });
});
