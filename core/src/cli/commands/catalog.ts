import * as path from 'node:path';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { formatBytes, formatDuration } from '../output';
import type { Repository } from '../../repository/repository';
import { Catalog } from '../../catalog/catalog';
import { defaultCatalogFile, isCorruptionError, moveAside } from '../../catalog/catalog-file';
import { IndexProgress, rebuildCatalog, SyncReport, syncCatalog } from '../../catalog/indexer';
import { describe } from '../discovery-text';

export interface CatalogFileOption {
  readonly catalogFile?: string;
}

export const CATALOG_FILE_FLAGS = '--catalog-file <file>';
export const CATALOG_FILE_HELP = 'the catalog database (default $XDG_CACHE_HOME/ebm/catalog-<repository id>.sqlite)';

export function catalogFileFor(repo: Repository, opts: CatalogFileOption): string {
  return opts.catalogFile ? path.resolve(opts.catalogFile) : defaultCatalogFile(repo.config.id);
}

/**
 * Opens the repository's catalog, brings it up to date (cheap when nothing
 * changed) and runs `use` on it. A corrupt catalog — found when opening, or
 * by SQLite while syncing or querying — is moved aside, rebuilt from the
 * repository and the operation retried once; the operator is told.
 */
export async function withSyncedCatalog<T>(ctx: CliContext, repo: Repository, opts: CatalogFileOption, use: (catalog: Catalog) => T | Promise<T>): Promise<T> {
  const file = catalogFileFor(repo, opts);
  for (let attempt = 1; ; attempt++) {
    const catalog = Catalog.open(file);
    try {
      if (catalog.recovered) {
        const r = catalog.recovered;
        warn(ctx, 'E_CATALOG_CORRUPT', r.kind === 'corrupt'
          ? `catalog ${file} was unreadable (${r.reason}); moved it to ${r.movedTo} and rebuilding it from the repository`
          : `catalog ${file}: ${r.reason}; rebuilding it from the repository`);
      }
      const report = await syncCatalog(catalog, repo, { signal: ctx.signal, onProgress: catalog.fresh ? progressPrinter(ctx, 'catalog-sync', true) : undefined });
      reportFailures(ctx, report);
      return await use(catalog);
    } catch (err) {
      if (attempt > 1 || !isCorruptionError(err)) throw err;
      catalog.close();
      const movedTo = moveAside(file);
      warn(ctx, 'E_CATALOG_CORRUPT', `catalog ${file} is damaged (${(err as Error).message}); moved it to ${movedTo} and rebuilding it from the repository`);
    } finally {
      catalog.close();
    }
  }
}

export const registerCatalog: RegisterCommand = (program, run) => {
  const catalog = program.command('catalog').description('the catalog: a SQLite index of all snapshots on this host, for find and fast browsing');

  catalog
    .command('rebuild')
    .description('rebuild the catalog from the repository alone (the old one stays usable until the new one is complete)')
    .option(CATALOG_FILE_FLAGS, CATALOG_FILE_HELP)
    .action(
      run(async (ctx: CliContext, opts: CatalogFileOption) => {
        const repo = await ctx.openRepository();
        const file = catalogFileFor(repo, opts);
        const started = Date.now();
        const { catalog: rebuilt, report } = await rebuildCatalog(repo, file, { signal: ctx.signal, onProgress: progressPrinter(ctx, 'catalog-rebuild') });
        try {
          reportFailures(ctx, report);
          const status = rebuilt.status();
          const durationMs = Date.now() - started;
          ctx.output.info(`rebuilt ${file}: ${report.added.length} snapshot(s), ${status.entries} entries in ${status.trees} distinct directories, ${formatBytes(status.sizeBytes)} in ${formatDuration(durationMs)}`);
          ctx.output.line({ type: 'summary', op: 'catalog-rebuild', file, snapshots: report.added.length, failed: report.failed.length, trees: status.trees, entries: status.entries, names: status.names, sizeBytes: status.sizeBytes, durationMs });
          return report.failed.length > 0 ? 1 : 0;
        } finally {
          rebuilt.close();
        }
      }),
    );

  catalog
    .command('discoveries')
    .description('list what `ebm discover` recorded: the newest discovery of each source (all of them with --all)')
    .option('--source <source>', 'only this source (as recorded: an absolute path for paths)')
    .option('--plugin <id>', 'only discoveries by this plugin')
    .option('--all', 'every recorded discovery, not only the newest per source and plugin')
    .option(CATALOG_FILE_FLAGS, CATALOG_FILE_HELP)
    .action(
      run(async (ctx: CliContext, opts: CatalogFileOption & { source?: string; plugin?: string; all?: boolean }) => {
        const repo = await ctx.openRepository();
        const opened = Catalog.open(catalogFileFor(repo, opts));
        try {
          const list = opened.discoveries({
            ...(opts.source !== undefined ? { source: opts.source } : {}),
            ...(opts.plugin !== undefined ? { plugin: opts.plugin } : {}),
            latestOnly: !opts.all,
          });
          for (const d of list) {
            ctx.output.line({ type: 'result', op: 'discovery', ...d });
            ctx.output.print(`${d.time}  ${d.plugin.padEnd(12)} ${d.source}`);
            for (const text of describe(d.report)) ctx.output.print(`    ${text}`);
          }
          if (list.length === 0) ctx.output.info('no discoveries recorded (run `ebm discover … -r REPO`)');
        } finally {
          opened.close();
        }
      }),
    );

  catalog
    .command('status')
    .description('show the catalog file, its size and how many of the repository’s snapshots it has indexed')
    .option(CATALOG_FILE_FLAGS, CATALOG_FILE_HELP)
    .action(
      run(async (ctx: CliContext, opts: CatalogFileOption) => {
        const repo = await ctx.openRepository();
        const opened = Catalog.open(catalogFileFor(repo, opts));
        try {
          if (opened.recovered) warn(ctx, 'E_CATALOG_CORRUPT', `catalog ${opened.file} was replaced: ${opened.recovered.reason}${opened.recovered.movedTo ? ` (moved to ${opened.recovered.movedTo})` : ''}`);
          const inRepo = new Set(await repo.listIds('snapshots'));
          const indexed = opened.snapshotIds(repo.config.id);
          const stale = indexed.filter((id) => !inRepo.has(id)).length;
          const current = indexed.length - stale;
          const status = opened.status();
          const result = { ...status, repository: repo.config.id, snapshotsIndexed: current, snapshotsInRepository: inRepo.size, snapshotsNotIndexed: inRepo.size - current, snapshotsForgotten: stale };
          ctx.output.line({ type: 'result', op: 'catalog-status', ...result });
          ctx.output.print(`catalog:     ${status.file} (${formatBytes(status.sizeBytes)})`);
          ctx.output.print(`snapshots:   ${current} of ${inRepo.size} indexed${stale ? `, ${stale} forgotten in the repository` : ''} (the next find or ls --catalog syncs)`);
          ctx.output.print(`contents:    ${status.entries} entries in ${status.trees} distinct directories, ${status.names} distinct names`);
        } finally {
          opened.close();
        }
      }),
    );
};

function warn(ctx: CliContext, code: string, message: string): void {
  ctx.output.warn(message);
  ctx.output.line({ type: 'warning', code, message });
}

function reportFailures(ctx: CliContext, report: SyncReport): void {
  for (const f of report.failed) warn(ctx, f.error.code, `snapshot ${f.snapshotId.slice(0, 8)} could not be indexed: ${f.error.message}`);
}

/**
 * Progress of indexing: a line per finished snapshot (human), throttled JSON
 * progress lines. `aside`: on stderr, because it precedes another command's
 * output (find, ls) on stdout.
 */
function progressPrinter(ctx: CliContext, op: string, aside = false): (p: IndexProgress) => void {
  let lastJson = 0;
  let lastDone = -1;
  return (p) => {
    const now = Date.now();
    if (ctx.output.json && now - lastJson >= 250) {
      lastJson = now;
      ctx.output.line({ type: 'progress', op, ...p });
    }
    if (p.snapshotsDone !== lastDone && p.snapshotsDone > 0) {
      lastDone = p.snapshotsDone;
      const text = `indexed ${p.snapshotsDone}/${p.snapshotsTotal} snapshot(s): ${p.entries} entries in ${p.trees} new directories`;
      if (!aside) ctx.output.info(text);
      else if (!ctx.output.json && !ctx.output.quiet) process.stderr.write(`${text}\n`);
    }
  };
}
