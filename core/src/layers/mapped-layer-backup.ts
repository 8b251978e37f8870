import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { LayerChange, LayerFile, LayerInfo, LayerReport } from '@ebm/sdk';
import type { BackupReport, BackupRequest, BackupService } from '../backup/backup-service';
import type { LayerQueryRequest, LayerQueryService } from '../discover/layer-query-service';
import { addWhiteouts } from './layer-whiteouts';

/**
 * Which list a layer of a layer-map source is stored from: a layer with
 * nothing below it (the base, or every mapped layer when there is no base)
 * holds all its `files`; a mapped layer above a base holds its `changes`
 * relative to the base (added and modified entries, deletions as whiteouts),
 * so a flattened restore — base, then each layer — gives the machine's tree.
 */
export function mappedLayerList(report: LayerReport, layer: LayerInfo): 'files' | 'changes' {
  return layer.immutable || !report.layers.some((l) => l.immutable && l.order < layer.order) ? 'files' : 'changes';
}

export interface MappedLayerBackup {
  /** The provider query for the layer's list (plugin, source, layer, options, report, signal). */
  readonly query: LayerQueryRequest;
  readonly list: 'files' | 'changes';
  /** The filesystem translator's backup of the layer's root; `paths-from` is added to its options. */
  readonly backup: BackupRequest;
}

export interface MappedLayerReport extends BackupReport {
  /** Paths the provider listed for the layer (ancestors of deletions included), and whiteouts stored. */
  readonly listed: number;
  readonly whiteouts: number;
}

/**
 * Stores one layer of a source whose layers share a directory (a layer map:
 * every mapped layer's root is the machine's root) as a layer snapshot
 * holding exactly that layer's entries: the provider's `files` or `changes`
 * stream (through its worker, LayerQueryService) is written to a temporary
 * NUL-separated path list, the filesystem translator backs up the root with
 * `paths-from` = that list (so it stats and reads only the listed entries
 * and their ancestor directories, incrementally against the layer's previous
 * snapshot), and deletions are then added as whiteouts (addWhiteouts). The
 * parent directory of each deletion is listed so the whiteout has a place.
 */
export async function backupMappedLayer(backups: BackupService, queries: LayerQueryService, input: MappedLayerBackup): Promise<MappedLayerReport> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-layer-list-'));
  try {
    const file = path.join(dir, 'paths');
    const { listed, deleted } = await writeLayerList(queries, input.query, input.list, file);
    const done = await backups.backup({ ...input.backup, options: { ...input.backup.options, 'paths-from': file } });
    const marked = await addWhiteouts(input.backup.repository, done.snapshot, deleted, input.backup.onWarning);
    return { ...done, snapshotId: marked.snapshot.id, snapshot: marked.snapshot, listed, whiteouts: marked.whiteouts };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Streams the layer's list into `file` (one batch per write); returns the count and the deleted paths. */
async function writeLayerList(queries: LayerQueryService, query: LayerQueryRequest, list: 'files' | 'changes', file: string): Promise<{ listed: number; deleted: string[] }> {
  const out = await fsp.open(file, 'w');
  const deleted: string[] = [];
  const parents = new Set<string>();
  let listed = 0;
  const write = async (paths: readonly string[]): Promise<void> => {
    if (paths.length === 0) return;
    listed += paths.length;
    await out.write(paths.map((p) => `${p}\0`).join(''));
  };
  try {
    if (list === 'files') {
      for await (const batch of queries.files(query)) await write(batch.map((f: LayerFile) => f.path));
    } else {
      for await (const batch of queries.changes(query)) {
        const paths: string[] = [];
        for (const c of batch) {
          if (c.change === 'added' || c.change === 'modified') paths.push(c.path);
          else if (c.change === 'deleted') {
            deleted.push(c.path);
            const parent = path.posix.dirname(c.path);
            if (parent !== '.') parents.add(parent);
          } else throw unsupported(query, c);
        }
        await write(paths);
      }
      await write([...parents]);
    }
  } finally {
    await out.close();
  }
  return { listed, deleted };
}

function unsupported(query: LayerQueryRequest, c: LayerChange): EbmError {
  return new EbmError('E_NOT_SUPPORTED', `layer ${query.layer} of ${query.source} reports a ${c.change} change at ${c.path}; layered backups of sources whose layers share a directory store added, modified and deleted entries only`, { subject: c.path });
}
