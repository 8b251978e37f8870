#!/usr/bin/env node
'use strict';
/**
 * `node bench/stream-bench.js`: ebm's stream translator against `restic backup
 * --stdin` on ten successive daily dumps of a slowly changing database, in one
 * run, on the same data.
 *
 * The dumps are SQL-dump-like text (COPY rows of a table) generated
 * deterministically by the stream translator's test fixture
 * (plugins/translator-stream/dist/testing/dump-fixture.js): day 0 is about
 * --mib MiB, each later day changes --fraction of the rows (updated in place,
 * some deleted, new ones appended) in clustered runs, as a day of work does.
 * Every dump is written to a file first (not timed) and both tools read that
 * file on their standard input, so the comparison is of the tools, not of the
 * generator.
 *
 * Measured per day and tool: wall time of the backup, peak RSS (GNU time),
 * repository size (`du -sb`) after it. At the end, the last snapshot is
 * restored by each tool and compared with the last dump. Targets: ebm's
 * repository smaller than restic's, and its total backup time no longer.
 *
 *   node bench/stream-bench.js [--mib 200] [--days 10] [--fraction 0.01] [--mean-run 32]
 *                              [--chunk-size BYTES] [--workdir DIR] [--keep] [--json] [--only ebm|restic]
 *
 * restic is found (or installed with apt-get when root) the way bench/run-bench.js does it.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { runChecked, GNU_TIME } = require('./timed-command');
const { ensurePrerequisites } = require('./prerequisites');

const repoRoot = path.resolve(__dirname, '..');
const fixturePath = path.join(repoRoot, 'plugins', 'translator-stream', 'dist', 'testing', 'dump-fixture.js');
const ebmMain = path.join(repoRoot, 'core', 'dist', 'cli', 'main.js');
const PASSWORD = 'stream-bench-password';

function parseArgs(argv) {
  const opts = { mib: 200, days: 10, fraction: 0.01, meanRun: 32, chunkSize: undefined, workdir: os.tmpdir(), keep: false, json: false, only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--mib') opts.mib = Number(next());
    else if (a === '--days') opts.days = Number(next());
    else if (a === '--fraction') opts.fraction = Number(next());
    else if (a === '--mean-run') opts.meanRun = Number(next());
    else if (a === '--chunk-size') opts.chunkSize = Number(next());
    else if (a === '--workdir') opts.workdir = next();
    else if (a === '--keep') opts.keep = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--only') opts.only = next();
    else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 26).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  return opts;
}

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

function duBytes(dir) {
  return Number(runChecked('du', 'du', ['-sb', dir]).split('\t')[0]);
}

function sha256File(file) {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return hash.digest('hex');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (m) => process.stderr.write(`[stream-bench] ${m}\n`);
  for (const f of [fixturePath, ebmMain]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: build first (npx tsc -b)`);
  const tools = opts.only ? [opts.only] : ['ebm', 'restic'];
  const { restic: resticVersion } = ensurePrerequisites(tools, log);
  const fixture = require(fixturePath);

  const work = fs.mkdtempSync(path.join(opts.workdir, 'ebm-stream-bench-'));
  const logDir = path.join(work, 'logs');
  fs.mkdirSync(logDir);
  const ebmEnv = { ...process.env, EBM_PASSWORD: PASSWORD };
  for (const k of ['EBM_PASSWORD_FILE', 'EBM_REPOSITORY']) delete ebmEnv[k];
  const resticEnv = { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };
  for (const k of ['RESTIC_REPOSITORY', 'RESTIC_REPOSITORY_FILE', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND', 'RESTIC_COMPRESSION']) delete resticEnv[k];
  const repos = { ebm: path.join(work, 'ebm-repo'), restic: path.join(work, 'restic-repo') };
  try {
    if (tools.includes('ebm')) runChecked('ebm init', process.execPath, [ebmMain, 'init', '-r', repos.ebm], { env: ebmEnv });
    if (tools.includes('restic')) runChecked('restic init', 'restic', ['init', '--repository-version', '2', '-r', repos.restic], { env: resticEnv });

    const rows = [];
    let model = fixture.createDumpModel(20240501, opts.mib * 1024 * 1024);
    let dumpFile;
    for (let day = 0; day < opts.days; day++) {
      if (day > 0) model = fixture.mutateDumpModel(model, opts.fraction, { meanRun: opts.meanRun });
      if (dumpFile) fs.rmSync(dumpFile);
      dumpFile = path.join(work, `dump-day${day}.sql`);
      const fd = fs.openSync(dumpFile, 'w');
      for (const piece of fixture.renderDump(model, 1024 * 1024)) fs.writeSync(fd, piece);
      fs.closeSync(fd);
      const row = { day, dumpBytes: fs.statSync(dumpFile).size };
      if (tools.includes('ebm')) {
        const args = [ebmMain, 'backup', '-r', repos.ebm, '-t', 'stream', '--dataset', 'db', '--stdin', '--name', 'db.sql', '--json', ...(opts.chunkSize ? ['--chunk-size', String(opts.chunkSize)] : [])];
        const r = timedWithInput(`ebm backup day ${day}`, process.execPath, args, ebmEnv, dumpFile, logDir);
        row.ebm = { wallS: r.wallS, rssKiB: r.rssKiB, repoBytes: duBytes(repos.ebm) };
      }
      if (tools.includes('restic')) {
        const args = ['-r', repos.restic, 'backup', '--stdin', '--stdin-filename', 'db.sql', '--compression', 'auto', '--json', '--quiet'];
        const r = timedWithInput(`restic backup day ${day}`, 'restic', args, resticEnv, dumpFile, logDir);
        row.restic = { wallS: r.wallS, rssKiB: r.rssKiB, repoBytes: duBytes(repos.restic) };
      }
      rows.push(row);
      log(`day ${day}: dump ${(row.dumpBytes / 2 ** 20).toFixed(1)} MiB` + tools.map((t) => `, ${t} ${row[t].wallS.toFixed(2)} s, repo ${(row[t].repoBytes / 2 ** 20).toFixed(1)} MiB`).join(''));
    }

    // Restore the last snapshot with each tool and compare with the last dump.
    const want = sha256File(dumpFile);
    const restores = {};
    if (tools.includes('ebm')) {
      const target = path.join(work, 'ebm-restore');
      const r = timedWithInput('ebm restore', process.execPath, [ebmMain, 'restore', '-r', repos.ebm, 'latest', '--target', target], ebmEnv, '/dev/null', logDir);
      restores.ebm = { wallS: r.wallS, rssKiB: r.rssKiB, exact: sha256File(path.join(target, 'db.sql')) === want };
    }
    if (tools.includes('restic')) {
      const target = path.join(work, 'restic-restore');
      const r = timedWithInput('restic restore', 'restic', ['-r', repos.restic, 'restore', 'latest', '--target', target, '--quiet'], resticEnv, '/dev/null', logDir);
      restores.restic = { wallS: r.wallS, rssKiB: r.rssKiB, exact: sha256File(path.join(target, 'db.sql')) === want };
    }
    report(opts, rows, restores, resticVersion);
    const bad = Object.entries(restores).filter(([, r]) => !r.exact);
    if (bad.length > 0) {
      log(`restore differs from the last dump: ${bad.map(([t]) => t).join(', ')}`);
      process.exitCode = 3;
    }
  } finally {
    if (opts.keep) log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

function report(opts, rows, restores, resticVersion) {
  const tools = Object.keys(rows[0]).filter((k) => k === 'ebm' || k === 'restic');
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  const lines = [];
  lines.push(`stream bench: ${opts.days} daily dumps, day 0 ≈ ${opts.mib} MiB, ${opts.fraction * 100} % of rows changed a day (mean run ${opts.meanRun} rows)${opts.chunkSize ? `, ebm --chunk-size ${opts.chunkSize}` : ''}; restic: ${resticVersion ?? 'not run'}`);
  lines.push(['day', 'dump MiB', ...tools.flatMap((t) => [`${t} s`, `${t} repo MiB`])].join('\t'));
  for (const r of rows) lines.push([r.day, mib(r.dumpBytes), ...tools.flatMap((t) => [r[t].wallS.toFixed(2), mib(r[t].repoBytes)])].join('\t'));
  const total = (t) => rows.reduce((s, r) => s + r[t].wallS, 0);
  const last = rows[rows.length - 1];
  const summary = {};
  for (const t of tools) {
    summary[t] = {
      totalBackupS: total(t),
      repoBytes: last[t].repoBytes,
      peakRssKiB: Math.max(...rows.map((r) => r[t].rssKiB), restores[t]?.rssKiB ?? 0),
      restoreS: restores[t]?.wallS,
      restoreExact: restores[t]?.exact,
    };
    lines.push(`${t}: total backup ${summary[t].totalBackupS.toFixed(1)} s, repository ${mib(summary[t].repoBytes)} MiB, restore ${summary[t].restoreS?.toFixed(2)} s (${summary[t].restoreExact ? 'exact' : 'DIFFERS'}), peak RSS ${(summary[t].peakRssKiB / 1024).toFixed(0)} MiB`);
  }
  if (summary.ebm && summary.restic) {
    lines.push(`ebm/restic: repository ${(summary.ebm.repoBytes / summary.restic.repoBytes).toFixed(3)} (target < 1), total backup time ${(summary.ebm.totalBackupS / summary.restic.totalBackupS).toFixed(3)} (target <= 1), restore time ${(summary.ebm.restoreS / summary.restic.restoreS).toFixed(3)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ opts, rows, restores, summary, resticVersion })}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`[stream-bench] ${err.message}\n`);
  process.exitCode = process.exitCode || 2;
}
