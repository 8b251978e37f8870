import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { applyLayerChanges } from '../layers/apply-changes';
import type { LayerChange, LayerEntryType, LayerReport } from '../layers/layer';

/** What the merged-view oracle compares for each path (not times: copy-up and extraction may change them). */
export interface ViewEntry {
  readonly type: LayerEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
}

/** Every entry under `dir` (not `dir` itself), by POSIX path relative to it. */
export async function readTree(dir: string): Promise<Map<string, ViewEntry>> {
  const out = new Map<string, ViewEntry>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await fsp.readdir(abs)).sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const entry = await describe(path.join(abs, name));
      out.set(p, entry);
      if (entry.type === 'dir') await walk(path.join(abs, name), p);
    }
  };
  await walk(dir, '');
  return out;
}

/**
 * The merged view the report's layers give: each layer's changes applied in
 * order onto the view of the layers below (applyLayerChanges), reading every
 * entry a change names at `layer.root/path`, and a metacopy's data at the
 * data layer's root. Throws an Error saying why when it cannot (no root).
 */
export async function mergedViewOf(report: LayerReport, changes: ReadonlyMap<string, readonly LayerChange[]>): Promise<Map<string, ViewEntry>> {
  const view = new Map<string, ViewEntry>();
  const rootOf = (id: string): string => {
    const root = report.layers.find((l) => l.id === id)?.root;
    if (root === undefined) throw new Error(`layer ${id} has no root directory, so the merged view cannot be computed from it`);
    return root;
  };
  for (const layer of report.layers) {
    const list = changes.get(layer.id) ?? [];
    const entries = new Map<LayerChange, ViewEntry>();
    for (const c of list) {
      if (c.change === 'deleted') continue;
      const own = await describe(path.join(rootOf(layer.id), c.path));
      if (c.change !== 'metacopy' || c.dataFrom === undefined) {
        entries.set(c, own);
        continue;
      }
      const data = await describe(path.join(rootOf(c.dataFrom.layer), c.dataFrom.path));
      entries.set(c, { ...own, size: data.size ?? 0, ...(data.sha256 !== undefined ? { sha256: data.sha256 } : {}) });
    }
    applyLayerChanges(view, list, (c) => entries.get(c)!);
  }
  return view;
}

/** Differences between an expected and an actual view, as readable lines. */
export function viewDifferences(expected: ReadonlyMap<string, ViewEntry>, actual: ReadonlyMap<string, ViewEntry>): string[] {
  const lines: string[] = [];
  for (const [p, e] of expected) {
    const a = actual.get(p);
    if (a === undefined) lines.push(`${p}: the layers give a ${e.type}, the merged view has nothing`);
    else for (const key of ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target'] as const) {
      if (e[key] !== a[key]) lines.push(`${p}: ${key} from the layers is ${fmt(key, e[key])}, in the merged view ${fmt(key, a[key])}`);
    }
  }
  for (const [p, a] of actual) if (!expected.has(p)) lines.push(`${p}: the merged view has a ${a.type} the layers do not give`);
  return lines.sort();
}

function fmt(key: string, v: unknown): string {
  return key === 'mode' && typeof v === 'number' ? `0${v.toString(8)}` : JSON.stringify(v);
}

async function describe(abs: string): Promise<ViewEntry> {
  const st = await fsp.lstat(abs);
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isDirectory()) return { type: 'dir', ...base };
  if (st.isSymbolicLink()) return { type: 'symlink', ...base, target: await fsp.readlink(abs) };
  if (!st.isFile()) return { type: 'other', ...base };
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(abs)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { type: 'file', ...base, size, sha256: hash.digest('hex') };
}
