import { EbmError } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { BlobStore } from '../../repository/blob-store';
import { resolvePath, walkTree } from '../../browse/tree-walker';
import { resolveSnapshotArg } from './snapshot-arg';
import { normalizeInclude } from '../../restore/restore-service';
import type { CatalogEntry } from '../../catalog/catalog-types';
import { CATALOG_FILE_FLAGS, CATALOG_FILE_HELP, withSyncedCatalog } from './catalog';
import { layeredRecordOf } from '../../layers/endpoint-snapshot';
import { layerSnapshotOf } from '../../layers/layer-snapshots';

interface LsOptions { recursive?: boolean; long?: boolean; dataset?: string; catalog?: boolean; catalogFile?: string; layer?: string }

export const registerLs: RegisterCommand = (program, run) => {
  program
    .command('ls')
    .description("list a snapshot's entries (a directory's children, or everything below it with -R)")
    .argument('<snapshot>', "snapshot id, id prefix, or 'latest'")
    .argument('[path]', 'path inside the snapshot', '')
    .option('-R, --recursive', 'list everything below the path')
    .option('-l, --long', 'show kind, mode, owner, size and mtime')
    .option('-d, --dataset <name>', "with 'latest': the latest snapshot of this dataset")
    .option('--layer <id>', "an endpoint snapshot (ebm backup --provider): list this layer's entries (without it, an endpoint snapshot lists its layers)")
    .option('--catalog', 'read from the catalog (synced first) instead of the repository')
    .option(CATALOG_FILE_FLAGS, CATALOG_FILE_HELP)
    .action(
      run(async (ctx: CliContext, snapshotArg: string, relPath: string, opts: LsOptions) => {
        const repo = await ctx.openRepository();
        const base = normalizeInclude(relPath);
        const show = (path: string, e: TreeEntry) => {
          if (ctx.output.json) ctx.output.line({ type: 'result', op: 'ls', path, entry: e });
          else ctx.output.print(opts.long ? longLine(path, e) : e.kind === 'dir' ? `${path}/` : path);
        };
        if ((opts.catalog || opts.catalogFile) && opts.layer !== undefined) throw new EbmError('E_USAGE', '--layer reads the repository; it cannot be combined with --catalog/--catalog-file');
        if (opts.catalog || opts.catalogFile) {
          await withSyncedCatalog(ctx, repo, opts, (catalog) => {
            const snap = catalog.resolveSnapshot(snapshotArg, { repositoryId: repo.config.id, ...(opts.dataset ? { dataset: opts.dataset } : {}) });
            const entry = base === '' ? undefined : catalog.entry(snap.snapshotId, base);
            if (entry && entry.kind !== 'dir') return show(base, withoutPath(entry));
            for (const e of catalog.walk(snap.snapshotId, base, Boolean(opts.recursive))) show(e.path, withoutPath(e));
          });
          return;
        }
        const resolved = await resolveSnapshotArg(repo, snapshotArg, opts.dataset);
        const layers = layeredRecordOf(resolved)?.layers;
        if (layers !== undefined && opts.layer === undefined) {
          for (const l of layers) {
            if (ctx.output.json) ctx.output.line({ type: 'result', op: 'ls', layer: { ...l } });
            else ctx.output.print(`layer ${l.order} ${l.id} (${l.kind}${l.immutable ? `, immutable ${l.digest ?? ''}` : ''}): ${l.snapshot ? `snapshot ${l.snapshot.slice(0, 8)}` : 'missing'}`);
          }
          return;
        }
        const snap = opts.layer !== undefined ? await layerSnapshotOf(repo, resolved, opts.layer) : resolved;
        const store = await BlobStore.open(repo);
        const found = await resolvePath(store, snap.tree, base);
        if (found.entry && found.entry.kind !== 'dir') {
          show(base, found.entry);
          return;
        }
        for await (const item of walkTree(store, found.tree!, base, Boolean(opts.recursive))) show(item.path, item.entry);
      }),
    );
};

/** A catalog entry in the shape of a tree entry (ls prints the same either way). */
function withoutPath(e: CatalogEntry): TreeEntry {
  const { path: _path, ...entry } = e;
  return entry;
}

function longLine(path: string, e: TreeEntry): string {
  const mode = e.mode !== undefined ? (e.mode & 0o7777).toString(8).padStart(4, '0') : '----';
  const owner = `${e.user ?? e.uid ?? '?'}:${e.group ?? e.gid ?? '?'}`;
  const mtime = e.mtimeNs ? new Date(Number(BigInt(e.mtimeNs) / 1000000n)).toISOString() : '-';
  const extra = e.kind === 'symlink' ? ` -> ${e.target}` : e.kind === 'hardlink' ? ` => ${e.linkTo}` : '';
  return `${e.kind.padEnd(9)} ${mode} ${owner.padEnd(12)} ${String(e.size ?? 0).padStart(12)} ${mtime} ${path}${e.kind === 'dir' ? '/' : ''}${extra}`;
}
