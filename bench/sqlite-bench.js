#!/usr/bin/env node
'use strict';
/**
 * SQLite benchmark: `ebm backup --translator sqlite` against restic on the
 * shared `sqlite` corpus (shop.db, ~344 MiB, five tables, ten indexes).
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
 * Reuses the harness modules of run-bench.js (timed-command, prerequisites,
 * corpus, tools, report); changes none of them.
 *
 * Exit status: 0 when everything ran and every restore was exact (also when a
 * target is missed: a report, not a test); 1 setup error; 2 a tool failed;
 * 3 a restore differs from its source.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { runTimed, runChecked } = require('./timed-command');
const { findSharedBench, ensurePrerequisites, checkFreeSpace } = require('./prerequisites');
const { ensureCorpus, copyTree, mutate, duBytes } = require('./corpus');
const { makeTools, lastJsonLine } = require('./tools');
const { median } = require('./report');

const REPO_ROOT = path.resolve(__dirname, '..');
const DB_NAME = 'shop.db';
const CORPUS_BYTES_AT_SCALE_1 = 0.37e9;

const USAGE = `Usage: node bench/sqlite-bench.js [options]   (build first: npx tsc -b)

  --scale S          corpus scale for make-corpus.sh (default 1 = ~344 MiB; 0.05 for a quick try)
  --runs N           repetitions with fresh repositories (default 1); medians are reported
  --spread MODE      where mutate.sh's updated rows lie: scattered (default, its worst
                     case: most pages change) or recent (the newest 2 % of each table)
  --run-size BYTES   ebm's --run-size (default: the translator's default)
  --workdir DIR      parent of the work directory (default $TMPDIR or /tmp)
  --corpus-dir DIR   keep/reuse the pristine corpus here
  --keep             keep the work directory
  --json             also print the result as one JSON line
`;

const t0 = Date.now();
function log(msg) {
  process.stderr.write(`[sqlite-bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
}

class RestoreMismatch extends Error {}

function parseArgs(argv) {
  const opts = { scale: '1', runs: 1, spread: 'scattered', runSize: null, workdir: null, corpusDir: null, keep: false, json: false, help: false };
  const value = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--scale') opts.scale = value(i++, a);
    else if (a === '--runs') opts.runs = Number(value(i++, a));
    else if (a === '--spread') opts.spread = value(i++, a);
    else if (a === '--run-size') opts.runSize = value(i++, a);
    else if (a === '--workdir') opts.workdir = value(i++, a);
    else if (a === '--corpus-dir') opts.corpusDir = value(i++, a);
    else if (a === '--keep') opts.keep = true;
    else if (a === '--json') opts.json = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (!/^\d+(\.\d+)?$/.test(opts.scale) || Number(opts.scale) <= 0) throw new Error(`--scale ${opts.scale} must be a positive number`);
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error('--runs must be a whole number >= 1');
  if (!['scattered', 'recent'].includes(opts.spread)) throw new Error('--spread must be scattered or recent');
  if (opts.runSize !== null && !/^\d+$/.test(opts.runSize)) throw new Error('--run-size must be a number of bytes');
  return opts;
}

/** ebm with the sqlite translator, in the shape of tools.js's tools. */
function makeEbmSqlite(ctx) {
  const main = path.join(REPO_ROOT, 'core', 'dist', 'cli', 'main.js');
  const env = { ...process.env, EBM_PASSWORD: ctx.password };
  delete env.EBM_PASSWORD_FILE;
  delete env.EBM_REPOSITORY;
  const extra = ctx.runSize ? ['--run-size', ctx.runSize] : [];
  return {
    name: 'ebm',
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

function sha256File(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function syncDisks() {
  spawnSync('sync', [], { stdio: 'ignore' });
}

function runOnce(ctx, run) {
  const runDir = path.join(ctx.workdir, `run-${run + 1}`);
  const source = path.join(runDir, 'source');
  fs.mkdirSync(runDir, { recursive: true });
  copyTree(ctx.pristine, source);
  const res = {};
  for (const name of ctx.names) {
    res[name] = { repo: path.join(runDir, `repo-${name}`) };
    ctx.tools[name].init(res[name].repo);
  }
  syncDisks();
  const order = (phase) => ((run + phase) % 2 === 0 ? ctx.names.slice() : ctx.names.slice().reverse());

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
  { label: 'second backup: bytes added (MiB)', target: 0.5, pick: (r) => r.added2 / 2 ** 20, digits: 1 },
  { label: 'second backup (s)', target: 1.0, pick: (r) => r.backup2, digits: 2 },
  { label: 'restore (s)', target: 1.0, pick: (r) => r.restore, digits: 2 },
  { label: 'first backup (s)', target: null, pick: (r) => r.backup1, digits: 2 },
  { label: 'repository after first (MiB)', target: null, pick: (r) => r.repo1 / 2 ** 20, digits: 1 },
  { label: 'repository after second (MiB)', target: null, pick: (r) => r.repo2 / 2 ** 20, digits: 1 },
];

function report(runs) {
  const rows = METRICS.map((m) => {
    const ebm = median(runs.map((r) => m.pick(r.ebm)));
    const restic = median(runs.map((r) => m.pick(r.restic)));
    const ratio = restic > 0 ? ebm / restic : null;
    return { label: m.label, ebm, restic, ratio, target: m.target, met: ratio === null || m.target === null ? null : ratio <= m.target, digits: m.digits };
  });
  const cells = rows.map((r) => [
    r.label, r.ebm.toFixed(r.digits), r.restic.toFixed(r.digits), r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.target === null ? '-' : `<= ${r.target.toFixed(1)}`, r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const header = ['metric', 'ebm', 'restic', 'ratio ebm/restic', 'target', 'met?'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join(' | ');
  return { rows, text: [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n') };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`sqlite-bench: ${e.message}\n`);
    return 1;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let workdir = null;
  let phase = 'setup';
  try {
    const shared = findSharedBench(REPO_ROOT);
    const versions = ensurePrerequisites(['ebm', 'restic'], log);
    if (!fs.existsSync(path.join(REPO_ROOT, 'core', 'dist', 'cli', 'main.js'))) throw new Error('build ebm first: npx tsc -b');
    workdir = fs.mkdtempSync(path.join(path.resolve(opts.workdir || os.tmpdir()), 'ebm-sqlite-bench-'));
    const logDir = path.join(workdir, 'logs');
    fs.mkdirSync(logDir);
    checkFreeSpace(workdir, CORPUS_BYTES_AT_SCALE_1 * Number(opts.scale) * 6);
    const corpusRoot = opts.corpusDir ? path.resolve(opts.corpusDir) : path.join(workdir, 'corpus');
    const { dir: pristine, info } = ensureCorpus(shared, corpusRoot, 'sqlite', opts.scale, log);
    const password = crypto.randomBytes(18).toString('base64url');
    const { restic } = makeTools({ repoRoot: REPO_ROOT, password, logDir, resticCacheDir: path.join(workdir, 'restic-cache') });
    const tools = { ebm: makeEbmSqlite({ password, logDir, runSize: opts.runSize }), restic };
    const ctx = { tools, names: ['ebm', 'restic'], shared, pristine, workdir, spread: opts.spread };

    phase = 'runs';
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      log(`run ${i + 1}/${opts.runs}`);
      runs.push(runOnce(ctx, i));
    }
    const { rows, text } = report(runs);
    process.stdout.write(
      `\nebm (--translator sqlite${opts.runSize ? ` --run-size ${opts.runSize}` : ''}) vs ${versions.restic} — sqlite corpus at scale ${opts.scale} ` +
        `(${info.MiB} MiB), mutate.sh spread ${opts.spread}, ${opts.runs} run(s), medians; ${os.cpus().length} CPUs\n\n${text}\n\n` +
        `every restore was byte-identical to the mutated source and passed integrity_check\n`,
    );
    if (opts.json) process.stdout.write(`${JSON.stringify({ scale: Number(opts.scale), spread: opts.spread, runSize: opts.runSize, rows, perRun: runs })}\n`);
    if (!opts.keep) fs.rmSync(workdir, { recursive: true, force: true });
    return 0;
  } catch (e) {
    process.stderr.write(`\nsqlite-bench: ${e instanceof RestoreMismatch ? 'WRONG RESTORE — ' : ''}${e.message}\n`);
    if (workdir && !opts.keep) {
      for (const e of fs.readdirSync(workdir)) if (e !== 'logs') fs.rmSync(path.join(workdir, e), { recursive: true, force: true });
      log(`logs kept in ${path.join(workdir, 'logs')}`);
    }
    if (e instanceof RestoreMismatch) return 3;
    return phase === 'runs' ? 2 : 1;
  }
}

process.exitCode = main();
