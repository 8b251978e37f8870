import { randomBytes } from 'node:crypto';
import { decodeTree } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import { diffViews, OPAQUE_XATTR } from './diff-layer-trees';
import { encodeView } from './layer-view';
import type { ViewDir, ViewNode } from './layer-view';
import { mergeLayerViews } from './merge-layer-trees';
import { sameEntry } from './same-entry';

/**
 * The tree algebra behind synthesize, rebase and base updates, on hand-made
 * trees encoded as real tree blobs: for any two merged views B and T,
 * merge(B, diff(B, T)) = T (up to fields a restore does not write), and the
 * diff holds only what differs.
 */
const key = randomBytes(32);
const blobs = new Map<string, Buffer>();
const load = async (id: string): Promise<readonly TreeEntry[]> => decodeTree(blobs.get(id)!).entries;

type Spec = { readonly [name: string]: string | Spec | TreeEntry };
const isEntry = (v: string | Spec | TreeEntry): v is TreeEntry => typeof (v as TreeEntry).kind === 'string' && typeof (v as TreeEntry).name === 'string';
/** name → file content (a string; its content id is derived from it), directory (object) or a ready entry. */
function view(spec: Spec, mtime = '1000'): ViewDir {
  const out = new Map<string, ViewNode>();
  for (const [name, v] of Object.entries(spec)) {
    if (typeof v === 'string') out.set(name, { entry: { name, kind: 'file', mode: 0o100644, uid: 0, gid: 0, mtimeNs: mtime, size: v.length, content: [`c-${v}`], inode: String(Math.random()) } as TreeEntry });
    else if (isEntry(v)) out.set(name, { entry: { ...v, name } });
    else out.set(name, { entry: { name, kind: 'dir', mode: 0o40755, uid: 0, gid: 0, mtimeNs: mtime } as TreeEntry, children: view(v, mtime) });
  }
  return out;
}
const tree = (v: ViewDir): string => encodeView(v, key, blobs).tree;

/** path → what a restore writes (kind, mode, owner, mtime, content; xattrs), so two views compare as a user would. */
function flat(v: ViewDir, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { entry: e, children }] of v) {
    const p = prefix + name;
    out[p] = `${e.kind} ${(e.mode ?? 0).toString(8)} ${e.uid}:${e.gid} t=${e.mtimeNs} ${(e.content ?? []).join('+')}${e.xattrs ? ` x=${e.xattrs.map((x) => x.name).join(',')}` : ''}${e.kind === 'chardev' ? ` rdev=${e.rdev}` : ''}`;
    if (children) Object.assign(out, flat(children, `${p}/`));
  }
  return out;
}
const merged = async (...layers: ViewDir[]): Promise<Record<string, string>> => flat((await mergeLayerViews(layers.map((l) => ({ tree: tree(l) })), load)).view);

const base = view({ etc: { hosts: 'h', motd: 'm', 'app.conf': 'v1' }, usr: { bin: { tool: 't' }, lib: { big: 'BIG' } }, var: { cache: { c1: '1', c2: '2' } }, home: { u: { notes: 'n' } } });

describe('tree algebra: diffViews and mergeLayerViews', () => {
  it('merge(B, diff(B, T)) equals T, and the diff holds only changed entries, whiteouts and their directories', async () => {
    const target = view({ etc: { hosts: 'h', motd: 'm2', added: 'a' }, usr: { bin: { tool: 't' }, lib: { big: 'BIG' } }, var: { cache: { c1: '1', c2: '2' } }, home: {} });
    const d = diffViews(base, target);
    expect(flat(d.layer)).toEqual({
      etc: expect.stringMatching(/^dir /), 'etc/motd': expect.stringContaining('c-m2'), 'etc/added': expect.stringContaining('c-a'), 'etc/app.conf': expect.stringMatching(/^chardev .* rdev=0$/),
      home: expect.stringMatching(/^dir .*x=trusted.overlay.opaque$/),
    });
    expect(d.whiteouts).toBe(1);
    expect(await merged(base, d.layer)).toEqual(flat(target));
  });

  it('an entry whose fingerprint matches but whose metadata differs is kept; one equal but for inode and ctime is left out', async () => {
    const target = view({ etc: { hosts: 'h', motd: 'm', 'app.conf': 'v1' }, usr: { bin: { tool: 't' }, lib: { big: 'BIG' } }, var: { cache: { c1: '1', c2: '2' } }, home: { u: { notes: 'n' } } });
    const chmod = new Map(target);
    const usr = target.get('usr')!;
    const lib = new Map(usr.children!.get('lib')!.children!);
    lib.set('big', { entry: { ...lib.get('big')!.entry, mode: 0o100600 } });
    chmod.set('usr', { entry: usr.entry, children: new Map([...usr.children!, ['lib', { entry: usr.children!.get('lib')!.entry, children: lib }]]) });
    expect(diffViews(base, target).layer.size).toBe(0); // inodes differ (random), nothing else: equal
    const d = diffViews(base, chmod);
    expect(Object.keys(flat(d.layer))).toEqual(['usr', 'usr/lib', 'usr/lib/big']);
    expect(await merged(base, d.layer)).toEqual(flat(chmod));
    expect(sameEntry(lib.get('big')!.entry, base.get('usr')!.children!.get('lib')!.children!.get('big')!.entry)).toBe(false);
  });

  it('type changes: a file replacing a directory, a directory replacing a file, a directory with new metadata only', async () => {
    const target = view({ etc: 'now a file', usr: { bin: { tool: 't' }, lib: { big: 'BIG' } }, var: { cache: { c1: '1', c2: '2' } }, home: { u: { notes: 'n' } } });
    const withDir = new Map(target);
    withDir.set('home', { entry: { ...target.get('home')!.entry, mode: 0o40700, uid: 1000 }, children: target.get('home')!.children! });
    const d = diffViews(base, withDir);
    expect(Object.keys(flat(d.layer)).sort()).toEqual(['etc', 'home']);
    expect(await merged(base, d.layer)).toEqual(flat(withDir));
    const back = diffViews(withDir, base);
    expect(await merged(withDir, back.layer)).toEqual(flat(base));
  });

  it('a directory that keeps nothing of the one below and loses names becomes opaque instead of whiteouts', async () => {
    const target = view({ etc: { hosts: 'h', motd: 'm', 'app.conf': 'v1' }, usr: { bin: { tool: 't' }, lib: { big: 'BIG' } }, var: { cache: { fresh: 'f' } }, home: { u: { notes: 'n' } } });
    const d = diffViews(base, target);
    expect(flat(d.layer)['var/cache']).toContain(`x=${OPAQUE_XATTR}`);
    expect(d.whiteouts).toBe(0);
    expect(await merged(base, d.layer)).toEqual(flat(target));
  });

  it('collapse: one diff over the bottom equals a chain of diffs applied in order (and the root never becomes opaque)', async () => {
    const v2 = view({ etc: { hosts: 'h', motd: 'm2' }, usr: { bin: { tool: 't2' }, lib: { big: 'BIG' } }, var: { cache: { c1: '1' } }, opt: { x: 'x' } });
    const v3 = view({ etc: { hosts: 'h3' }, usr: { lib: { big: 'BIG' } }, var: { cache: { c1: '1', c3: '3' } }, opt: { x: 'x' }, srv: { y: 'y' } });
    const d2 = diffViews(base, v2).layer;
    const d3 = diffViews(v2, v3).layer;
    const chain = await merged(base, d2, d3);
    expect(chain).toEqual(flat(v3));
    const baseMergedView = (await mergeLayerViews([{ tree: tree(base) }], load)).view;
    const collapsed = diffViews(baseMergedView, (await mergeLayerViews([base, d2, d3].map((l) => ({ tree: tree(l) })), load)).view);
    expect(await merged(base, collapsed.layer)).toEqual(chain);
    const everything = diffViews(base, view({ other: 'o' }));
    expect(flat(everything.layer).other).toBe(flat(view({ other: 'o' })).other); // the one file, as the target has it
    expect(everything.whiteouts).toBe(4); // etc, usr, var, home whited out at the root
  });

  it('encodeView recomputes directory tallies, so a synthesized tree counts like a translator-written one', () => {
    const id = tree(base);
    const root = decodeTree(blobs.get(id)!).entries;
    expect(root.find((e) => e.name === 'usr')!.tally).toEqual({ files: 2, dirs: 2, others: 0, bytes: 4 });
    expect(encodeView(base, key, new Map()).tally).toEqual({ files: 8, dirs: 8, others: 0, bytes: 11 });
  });
});
