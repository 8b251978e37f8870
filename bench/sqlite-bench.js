#!/usr/bin/env node
'use strict';
/**
 * Case `sqlite`: `ebm backup --translator sqlite` against restic on the
 * shared `sqlite` corpus (shop.db, ~344 MiB at scale 1, five tables, ten indexes).
 *
 * Each run: copy the pristine database, fresh repositories, first backup with
 * both tools, mutate.sh (UPDATE ~1 % and INSERT ~1 % of every table's rows;
 * --spread picks where the updated rows lie), second backup with both, restore
 * `latest` with both into empty directories and check each restored file is
 * byte-identical to the mutated source (its SHA-256) and passes
 * `PRAGMA integrity_check` in the sqlite3 client. Tools take turns going first.
 *
 * Reported (medians over runs), as ratios ebm/restic with their targets:
 *   bytes the second backup added to the repository (du -sb delta)   <= 0.5
 *   second backup wall time                                          <= 1.0
 *   restore wall time                                                <= 1.0
 * and, for information, the first backup's time and both repository sizes.
 *
 * Follows the case convention (case-main.js): common options, own table,
 * --summary FILE, exit 0/1/2/3.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { runCase, RestoreMismatch } = require('./case-main');
const { syncDisks, sha256File, EBM_MAIN, ebmEnv, turnOrder, initRepos } = require('./bench-util');
const { oneOf } = require('./case-options');
const { atMost, summarizeRuns } = require('./metrics');
const { runTimed, runChecked } = require('./timed-command');
const { findSharedBench, ensurePrerequisites, checkFreeSpace } = require('./prerequisites');
const { ensureCorpus, copyTree, mutate, duBytes } = require('./corpus');
const { makeTools, lastJsonLine } = require('./tools');

const REPO_ROOT = path.resolve(__dirname, '..');
const DB_NAME = 'shop.db';
const CORPUS_BYTES_AT_SCALE_1 = 0.37e9;

const USAGE = `Usage: node bench/sqlite-bench.js [options]    (npm run bench -- --case sqlite [options])

Case "sqlite": first backup, mutate.sh (~1 % of rows updated, ~1 % inserted),
second backup and restore of one SQLite database with ebm (--translator sqlite)
and restic. Targets: the second backup adds at most half the bytes restic adds
and takes no longer; the restore is no slower.
Defaults: --scale 1 (~344 MiB), --runs 1. Ignores: nothing.

Own options:
  --spread MODE      where mutate.sh's updated rows lie: scattered (default, its worst
                     case: most pages change) or recent (the newest 2 % of each table)
  --run-size BYTES   ebm's --run-size (default: the translator's default)
`;

/** ebm with the sqlite translator, in the shape of tools.js's tools. */
function makeEbmSqlite(ctx) {
  const main = EBM_MAIN;
  const env = ebmEnv(ctx.password);
  const extra = ctx.runSize ? ['--run-size', ctx.runSize] : [];
  return {
    name: 'ebm',
    ensureAvailable() {
      if (!fs.existsSync(main)) throw new Error(`${main} does not exist: build ebm first (npx tsc -b), or run with --only restic`);
      return `node ${process.version}, --translator sqlite`;
    },
    init(repo) {
      runChecked('ebm init', process.execPath, [main, 'init', '-r', repo], { env });
    },
    backup(repo, sourceDir, label) {
      const args = [main, 'backup', '-r', repo, '--translator', 'sqlite', path.join(sourceDir, DB_NAME), '--dataset', 'bench', '--json', ...extra];
      const r = runTimed({ label, cmd: process.execPath, args, env, logDir: ctx.logDir });
      const summary = lastJsonLine(r.stdout);
      if (!summary || summary.type !== 'summary') throw new Error(`${label}: no summary line (see ${ctx.logDir})`);
      return { wallS: r.wallS, rssKiB: r.rssKiB, summary };
    },
    restore(repo, target, label) {
      const r = runTimed({ label, cmd: process.execPath, args: [main, 'restore', '-r', repo, 'latest', '--target', target, '--json'], env, logDir: ctx.logDir });
      return { wallS: r.wallS, rssKiB: r.rssKiB };
    },
  };
}

function runOnce(ctx, run) {
  const { log } = ctx;
  const runDir = path.join(ctx.workdir, `run-${run + 1}`);
  const source = path.join(runDir, 'source');
  fs.mkdirSync(runDir, { recursive: true });
  copyTree(ctx.pristine, source);
  const res = initRepos(ctx.tools, ctx.names, runDir);
  const order = (phase) => turnOrder(ctx.names, run, phase);

  for (const name of order(0)) {
    const r = ctx.tools[name].backup(res[name].repo, source, `${name}-backup1-run${run + 1}`);
    syncDisks();
    res[name].backup1 = r.wallS;
    res[name].repo1 = duBytes(res[name].repo);
    log(`  ${name.padEnd(6)} first backup   ${r.wallS.toFixed(2)} s, repository ${(res[name].repo1 / 2 ** 20).toFixed(1)} MiB`);
  }

  process.env.MUTATE_SQLITE_MODE = ctx.spread; // read by mutate.py
  const mutation = mutate(ctx.shared, source, 1);
  const expected = sha256File(path.join(source, DB_NAME));
  syncDisks();
  log(`  mutated (${ctx.spread}): ${JSON.stringify(mutation.sqlite ?? mutation)}`);

  for (const name of order(1)) {
    const r = ctx.tools[name].backup(res[name].repo, source, `${name}-backup2-run${run + 1}`);
    syncDisks();
    res[name].backup2 = r.wallS;
    res[name].repo2 = duBytes(res[name].repo);
    res[name].added2 = res[name].repo2 - res[name].repo1;
    log(`  ${name.padEnd(6)} second backup  ${r.wallS.toFixed(2)} s, added ${(res[name].added2 / 2 ** 20).toFixed(1)} MiB`);
  }

  for (const name of order(2)) {
    const target = path.join(runDir, `restore-${name}`);
    fs.mkdirSync(target);
    const r = ctx.tools[name].restore(res[name].repo, target, `${name}-restore-run${run + 1}`);
    syncDisks();
    res[name].restore = r.wallS;
    const file = path.join(target, DB_NAME);
    const got = fs.existsSync(file) ? sha256File(file) : '(missing)';
    if (got !== expected) throw new RestoreMismatch(`${name} restored ${file} with sha256 ${got}, the source has ${expected}`);
    const check = runChecked('sqlite3 integrity_check', 'sqlite3', [file, 'PRAGMA integrity_check;']).trim();
    if (check !== 'ok') throw new RestoreMismatch(`${name}'s restored database fails integrity_check: ${check.slice(0, 200)}`);
    log(`  ${name.padEnd(6)} restore        ${r.wallS.toFixed(2)} s, byte-identical, integrity ok`);
    fs.rmSync(target, { recursive: true, force: true });
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  return res;
}

const METRICS = [
  { key: 'added2', label: 'second backup: bytes added', unit: 'MiB', target: atMost(0.5), pick: (r) => r.added2 / 2 ** 20 },
  { key: 'backup2', label: 'second backup', unit: 's', target: atMost(1.0), pick: (r) => r.backup2 },
  { key: 'restore', label: 'restore', unit: 's', target: atMost(1.0), pick: (r) => r.restore },
  { key: 'backup1', label: 'first backup', unit: 's', target: null, pick: (r) => r.backup1 },
  { key: 'repo1', label: 'repository after first', unit: 'MiB', target: null, pick: (r) => r.repo1 / 2 ** 20 },
  { key: 'repo2', label: 'repository after second', unit: 'MiB', target: null, pick: (r) => r.repo2 / 2 ** 20 },
];

runCase(
  {
    name: 'sqlite',
    title: 'sqlite: ebm --translator sqlite vs restic on one database',
    usage: USAGE,
    defaults: { scale: '1', runs: 1 },
    options: {
      '--spread': { key: 'spread', default: 'scattered', parse: (v, f) => oneOf(v, f, ['scattered', 'recent']) },
      '--run-size': {
        key: 'runSize',
        parse: (v, f) => {
          if (!/^\d+$/.test(v)) throw new Error(`${f} ${v} must be a number of bytes`);
          return v;
        },
      },
    },
  },
  (opts, { workdir, logDir, log, measuring }) => {
    const shared = findSharedBench(REPO_ROOT);
    const versions = ensurePrerequisites(opts.tools, log);
    checkFreeSpace(workdir, CORPUS_BYTES_AT_SCALE_1 * Number(opts.scale) * 6);
    const password = crypto.randomBytes(18).toString('base64url');
    const all = {
      ebm: makeEbmSqlite({ password, logDir, runSize: opts.runSize }),
      restic: makeTools({ repoRoot: REPO_ROOT, password, logDir, resticCacheDir: path.join(workdir, 'restic-cache') }).restic,
    };
    const tools = {};
    for (const name of opts.tools) {
      tools[name] = all[name];
      versions[name] = tools[name].ensureAvailable();
    }
    const corpusRoot = opts.corpusDir ? path.resolve(opts.corpusDir) : path.join(workdir, 'corpus');
    const { dir: pristine, info } = ensureCorpus(shared, corpusRoot, 'sqlite', opts.scale, log);
    const ctx = { tools, names: opts.tools, shared, pristine, workdir, spread: opts.spread, log };

    measuring();
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      log(`run ${i + 1}/${opts.runs}`);
      runs.push(runOnce(ctx, i));
    }
    return {
      description:
        `sqlite corpus at scale ${opts.scale} (${info.MiB} MiB), mutate.sh spread ${opts.spread}` +
        `${opts.runSize ? `, ebm --run-size ${opts.runSize}` : ''}, ${opts.runs} run(s), medians; ${os.cpus().length} CPUs`,
      versions,
      metrics: summarizeRuns(runs, METRICS, opts.tools),
      verified: 'every restore was byte-identical to the mutated source and passed integrity_check',
      details: { spread: opts.spread, runSize: opts.runSize, corpus: { bytes: info.bytes, fingerprint: info.fingerprint }, perRun: runs },
    };
  },
);
