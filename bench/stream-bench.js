#!/usr/bin/env node
'use strict';
/**
 * Case `stream`: ebm's stream translator against `restic backup --stdin` on
 * successive daily dumps (default ten) of a slowly changing database.
 *
 * The dumps are SQL-dump-like text (COPY rows of a table) generated
 * deterministically by the stream translator's test fixture
 * (plugins/translator-stream/dist/testing/dump-fixture.js): day 0 is about
 * 200 MiB × --scale (or --mib), each later day changes --fraction of the rows
 * (updated in place, some deleted, new ones appended) in clustered runs, as a
 * day of work does. Every dump is written to a file first (not timed) and both
 * tools read that file on their standard input, so the comparison is of the
 * tools, not of the generator. The tools take turns going first (every day
 * and every run).
 *
 * Measured per day and tool: wall time of the backup, peak RSS (GNU time),
 * repository size (`du -sb`) after it. At the end of each run the last
 * snapshot is restored by each tool and compared with the last dump (SHA-256).
 * Targets: ebm's repository smaller than restic's, and its total backup time
 * no longer. Each run uses fresh repositories; medians over runs.
 *
 * Follows the case convention (case-main.js): common options, own table,
 * --summary FILE, exit 0/1/2/3.
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { runCase, RestoreMismatch } = require('./case-main');
const { sha256File, ebmEnv, EBM_MAIN } = require('./bench-util');
const { positiveNumberText, wholeAtLeastOne } = require('./case-options');
const { atMost, below, summarizeRuns, formatRows } = require('./metrics');
const { runChecked, GNU_TIME } = require('./timed-command');
const { ensurePrerequisites } = require('./prerequisites');
const { duBytes } = require('./corpus');

const REPO_ROOT = path.resolve(__dirname, '..');
const FIXTURE = path.join(REPO_ROOT, 'plugins', 'translator-stream', 'dist', 'testing', 'dump-fixture.js');
const MIB_AT_SCALE_1 = 200;

const USAGE = `Usage: node bench/stream-bench.js [options]    (npm run bench -- --case stream [options])

Case "stream": ten daily dumps of a slowly changing database, each backed up
from standard input by ebm (-t stream --stdin) and by restic (backup --stdin);
the last one restored by both and compared. Targets: ebm's repository smaller
than restic's, its total backup time no longer.
Defaults: --scale 1 (day 0 ≈ 200 MiB), --runs 1. Ignores: --corpus-dir (the dumps
are generated on the fly, not by make-corpus.sh).

Own options:
  --mib N            size of day 0 in MiB (default 200 × --scale; overrides --scale)
  --days N           number of daily dumps (default 10)
  --fraction F       share of rows changed a day (default 0.01)
  --mean-run N       mean length of a run of changed rows (default 32)
  --chunk-size BYTES ebm's --chunk-size (default: the translator's)
`;

/** Runs `cmd args` under GNU time with `stdinFile` as standard input; returns wall seconds, peak RSS and stdout. */
function timedWithInput(label, cmd, args, env, stdinFile, logDir) {
  const base = path.join(logDir, label.replace(/[^A-Za-z0-9_.-]+/g, '_'));
  const input = fs.openSync(stdinFile, 'r');
  const out = fs.openSync(`${base}.stdout`, 'w');
  const err = fs.openSync(`${base}.stderr`, 'w');
  const t0 = process.hrtime.bigint();
  let res;
  try {
    res = spawnSync(GNU_TIME, ['-f', '%M', '-o', `${base}.time`, cmd, ...args], { env, stdio: [input, out, err] });
  } finally {
    for (const fd of [input, out, err]) fs.closeSync(fd);
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const stdout = fs.readFileSync(`${base}.stdout`, 'utf8');
  if (res.status !== 0) {
    const tail = (fs.readFileSync(`${base}.stderr`, 'utf8') + stdout).trim().split('\n').slice(-15).join('\n');
    throw new Error(`${label} failed (exit ${res.status ?? res.signal}): ${cmd} ${args.join(' ')}\n${tail}`);
  }
  const lines = fs.readFileSync(`${base}.time`, 'utf8').trim().split('\n');
  return { wallS, rssKiB: Number(lines[lines.length - 1]), stdout };
}

/** Both tools' commands, with the same password and no caller settings leaking in. */
function makeStreamTools(workdir, opts) {
  const password = crypto.randomBytes(18).toString('base64url');
  const ebmEnvironment = ebmEnv(password);
  const resticEnv = { ...process.env, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: path.join(workdir, 'restic-cache') };
  for (const k of ['RESTIC_REPOSITORY', 'RESTIC_REPOSITORY_FILE', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND', 'RESTIC_COMPRESSION']) delete resticEnv[k];
  const chunk = opts.chunkSize ? ['--chunk-size', String(opts.chunkSize)] : [];
  return {
    ebm: {
      init: (repo) => runChecked('ebm init', process.execPath, [EBM_MAIN, 'init', '-r', repo], { env: ebmEnvironment }),
      backup: (repo, dump, label, logDir) =>
        timedWithInput(label, process.execPath, [EBM_MAIN, 'backup', '-r', repo, '-t', 'stream', '--dataset', 'db', '--stdin', '--name', 'db.sql', '--json', ...chunk], ebmEnvironment, dump, logDir),
      restore: (repo, target, label, logDir) =>
        timedWithInput(label, process.execPath, [EBM_MAIN, 'restore', '-r', repo, 'latest', '--target', target], ebmEnvironment, '/dev/null', logDir),
    },
    restic: {
      init: (repo) => runChecked('restic init', 'restic', ['init', '--repository-version', '2', '-r', repo], { env: resticEnv }),
      backup: (repo, dump, label, logDir) =>
        timedWithInput(label, 'restic', ['-r', repo, 'backup', '--stdin', '--stdin-filename', 'db.sql', '--compression', 'auto', '--json', '--quiet'], resticEnv, dump, logDir),
      restore: (repo, target, label, logDir) =>
        timedWithInput(label, 'restic', ['-r', repo, 'restore', 'latest', '--target', target, '--quiet'], resticEnv, '/dev/null', logDir),
    },
  };
}

/** One run: fresh repositories, every day's dump backed up by both tools, the last one restored and compared. */
function runOnce(ctx, run) {
  const { opts, tools, fixture, log, logDir } = ctx;
  const runDir = path.join(ctx.workdir, `run-${run + 1}`);
  fs.mkdirSync(runDir);
  const repos = {};
  for (const t of opts.tools) {
    repos[t] = path.join(runDir, `repo-${t}`);
    tools[t].init(repos[t]);
  }
  const days = [];
  let model = fixture.createDumpModel(20240501, ctx.mib * 1024 * 1024);
  let dump;
  for (let day = 0; day < opts.days; day++) {
    if (day > 0) model = fixture.mutateDumpModel(model, opts.fraction, { meanRun: opts.meanRun });
    if (dump) fs.rmSync(dump);
    dump = path.join(runDir, `dump-day${day}.sql`);
    const fd = fs.openSync(dump, 'w');
    for (const piece of fixture.renderDump(model, 1024 * 1024)) fs.writeSync(fd, piece);
    fs.closeSync(fd);
    const row = { day, dumpBytes: fs.statSync(dump).size };
    const order = (run + day) % 2 === 0 ? opts.tools.slice() : opts.tools.slice().reverse();
    for (const t of order) {
      const r = tools[t].backup(repos[t], dump, `${t}-backup-day${day}-run${run + 1}`, logDir);
      spawnSync('sync', [], { stdio: 'ignore' });
      row[t] = { wallS: r.wallS, rssKiB: r.rssKiB, repoBytes: duBytes(repos[t]) };
    }
    days.push(row);
    log(`run ${run + 1} day ${day}: dump ${(row.dumpBytes / 2 ** 20).toFixed(1)} MiB` + opts.tools.map((t) => `, ${t} ${row[t].wallS.toFixed(2)} s, repo ${(row[t].repoBytes / 2 ** 20).toFixed(1)} MiB`).join(''));
  }

  const want = sha256File(dump);
  const out = { days };
  for (const t of run % 2 === 0 ? opts.tools.slice() : opts.tools.slice().reverse()) {
    const target = path.join(runDir, `restore-${t}`);
    const r = tools[t].restore(repos[t], target, `${t}-restore-run${run + 1}`, logDir);
    const file = path.join(target, 'db.sql');
    const got = fs.existsSync(file) ? sha256File(file) : '(missing)';
    if (got !== want) throw new RestoreMismatch(`${t} restored ${file} with sha256 ${got}; the last dump has ${want}`);
    const last = days[days.length - 1][t];
    out[t] = {
      totalBackupS: days.reduce((s, d) => s + d[t].wallS, 0),
      repoBytes: last.repoBytes,
      restoreS: r.wallS,
      peakRssKiB: Math.max(r.rssKiB, ...days.map((d) => d[t].rssKiB)),
    };
    log(`run ${run + 1}: ${t} restore ${r.wallS.toFixed(2)} s, identical to the last dump`);
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  return out;
}

const METRICS = [
  { key: 'repoSize', label: 'repository after all days', unit: 'MiB', target: below(1.0), pick: (r) => r.repoBytes / 2 ** 20 },
  { key: 'totalBackup', label: 'total backup time, all days', unit: 's', target: atMost(1.0), pick: (r) => r.totalBackupS },
  { key: 'restore', label: 'restore of the last day', unit: 's', target: null, pick: (r) => r.restoreS },
  { key: 'peakRss', label: 'peak RSS (max of all runs)', unit: 'MiB', aggregate: 'max', target: null, pick: (r) => r.peakRssKiB / 1024 },
];

/** Per-day table of the first run, as the case's own detail. */
function formatDays(days, tools) {
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  return formatRows(
    ['day', 'dump MiB', ...tools.flatMap((t) => [`${t} s`, `${t} repo MiB`])],
    days.map((d) => [String(d.day), mib(d.dumpBytes), ...tools.flatMap((t) => [d[t].wallS.toFixed(2), mib(d[t].repoBytes)])]),
  );
}

runCase(
  {
    name: 'stream',
    title: 'stream: ebm -t stream --stdin vs restic backup --stdin on daily dumps',
    usage: USAGE,
    defaults: { scale: '1', runs: 1 },
    ignores: ['--corpus-dir'],
    options: {
      '--mib': { key: 'mib', parse: (v, f) => Number(positiveNumberText(v, f)) },
      '--days': { key: 'days', default: 10, parse: (v, f) => wholeAtLeastOne(v, f) },
      '--fraction': {
        key: 'fraction',
        default: 0.01,
        parse: (v, f) => {
          if (!(Number(positiveNumberText(v, f)) < 1)) throw new Error(`${f} ${v} must be below 1`);
          return Number(v);
        },
      },
      '--mean-run': { key: 'meanRun', default: 32, parse: (v, f) => wholeAtLeastOne(v, f) },
      '--chunk-size': { key: 'chunkSize', parse: (v, f) => wholeAtLeastOne(v, f) },
    },
  },
  (opts, { workdir, logDir, log, measuring }) => {
    for (const f of [FIXTURE, EBM_MAIN]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: build first (npx tsc -b)`);
    const versions = ensurePrerequisites(opts.tools, log);
    if (opts.tools.includes('ebm')) versions.ebm = `node ${process.version}, -t stream --stdin`;
    const fixture = require(FIXTURE);
    const mib = opts.mib ?? MIB_AT_SCALE_1 * Number(opts.scale);
    const tools = makeStreamTools(workdir, opts);
    const ctx = { opts, tools, fixture, log, logDir, workdir, mib };

    measuring();
    const runs = [];
    for (let i = 0; i < opts.runs; i++) runs.push(runOnce(ctx, i));
    process.stdout.write(`\nstream case, run 1, per day:\n${formatDays(runs[0].days, opts.tools)}\n`);
    return {
      description:
        `${opts.days} daily dumps, day 0 ≈ ${mib} MiB, ${opts.fraction * 100} % of rows changed a day ` +
        `(mean run ${opts.meanRun} rows)${opts.chunkSize ? `, ebm --chunk-size ${opts.chunkSize}` : ''}, ${opts.runs} run(s), medians`,
      versions,
      metrics: summarizeRuns(runs, METRICS, opts.tools),
      verified: 'every restore was byte-identical to the last dump',
      details: { mib, days: opts.days, fraction: opts.fraction, meanRun: opts.meanRun, chunkSize: opts.chunkSize, perRun: runs },
    };
  },
);
