#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: ebm against restic on one generated corpus, in one run.
 *
 * Each run (default 3) copies the pristine corpus, then for both tools with
 * fresh repositories: first backup, mutate.sh (~1 % changed), second backup,
 * restore into an empty directory, and a byte+mode+mtime check of the restore
 * against the mutated source. The tools take turns going first (the order
 * flips every phase and every run) so neither always meets a warmer cache;
 * caches are never dropped, but dirty pages are flushed (`sync`, not timed)
 * after every measured command so one tool's write-back is not billed to the
 * other. Medians (peak RSS: the maximum) and ratios ebm/restic are printed.
 *
 * Exit status: 0 when every run completed and every restore was exact (even
 * if a target is missed: this is a report, not a test); 1 for a setup error,
 * 2 when a tool fails, 3 when a restore differs from its source.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { parseOptions, USAGE } = require('./options');
const { findSharedBench, ensurePrerequisites, checkFreeSpace } = require('./prerequisites');
const { ensureCorpus, copyTree, mutate, makeManifest, checkManifest, duBytes } = require('./corpus');
const { makeTools } = require('./tools');
const { summarize, formatTable } = require('./report');

const REPO_ROOT = path.resolve(__dirname, '..');
const EXIT_SETUP = 1;
const EXIT_TOOL_FAILED = 2;
const EXIT_RESTORE_WRONG = 3;

/** Approximate corpus sizes at scale 1, to check free space before generating. */
const CORPUS_BYTES_AT_SCALE_1 = { mixed: 1.1e9, manyfiles: 0.6e9 };

class RestoreMismatch extends Error {}

const t0 = Date.now();
function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

function syncDisks() {
  spawnSync('sync', [], { stdio: 'ignore' });
}

/** Tool order for a phase: alternates every phase and every run. */
function orderFor(tools, run, phase) {
  return (run + phase) % 2 === 0 ? tools.slice() : tools.slice().reverse();
}

/** One complete run: fresh copy of the corpus, fresh repositories, three measured phases per tool. */
function runOnce(ctx, run) {
  const { tools, toolNames, shared, pristine, workdir } = ctx;
  const runDir = path.join(workdir, `run-${run + 1}`);
  fs.mkdirSync(runDir, { recursive: true });
  const source = path.join(runDir, 'source');
  log(`run ${run + 1}/${ctx.runs}: copying the corpus to ${source}`);
  copyTree(pristine, source);
  syncDisks();

  const res = {};
  for (const name of toolNames) {
    const repo = path.join(runDir, `repo-${name}`);
    tools[name].init(repo);
    res[name] = { repo };
  }
  syncDisks();

  for (const name of orderFor(toolNames, run, 0)) {
    const r = tools[name].backup(res[name].repo, source, `${name}-backup1-run${run + 1}`);
    syncDisks();
    res[name].backup1 = { wallS: r.wallS, rssKiB: r.rssKiB };
    res[name].repoBytes1 = duBytes(res[name].repo);
    log(`  ${name.padEnd(6)} first backup   ${r.wallS.toFixed(2)} s, ${(r.rssKiB / 1024).toFixed(0)} MiB RSS`);
  }

  const mutation = mutate(shared, source, 1);
  const manifest = path.join(runDir, 'expected.json');
  makeManifest(shared, source, manifest);
  syncDisks();
  log(`  mutated the source (~1 %): ${JSON.stringify(mutation).slice(0, 160)}`);

  for (const name of orderFor(toolNames, run, 1)) {
    const r = tools[name].backup(res[name].repo, source, `${name}-backup2-run${run + 1}`);
    syncDisks();
    res[name].backup2 = { wallS: r.wallS, rssKiB: r.rssKiB };
    res[name].repoBytes = duBytes(res[name].repo);
    const n = tools[name].snapshotCount(res[name].repo);
    if (n !== null && n !== 2) throw new Error(`${name}: expected 2 snapshots after two backups, found ${n}`);
    log(`  ${name.padEnd(6)} second backup  ${r.wallS.toFixed(2)} s, ${(r.rssKiB / 1024).toFixed(0)} MiB RSS`);
  }

  for (const name of orderFor(toolNames, run, 2)) {
    const target = path.join(runDir, `restore-${name}`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target);
    const r = tools[name].restore(res[name].repo, target, `${name}-restore-run${run + 1}`);
    syncDisks();
    res[name].restore = { wallS: r.wallS, rssKiB: r.rssKiB };
    const check = checkManifest(shared, target, manifest);
    res[name].restoreCheck = check.summary;
    if (!check.ok) {
      throw new RestoreMismatch(
        `${name} restored a tree that differs from the source (run ${run + 1}): ${JSON.stringify(check.summary)}`,
      );
    }
    log(`  ${name.padEnd(6)} restore        ${r.wallS.toFixed(2)} s, ${(r.rssKiB / 1024).toFixed(0)} MiB RSS, verified`);
    fs.rmSync(target, { recursive: true, force: true });
  }

  const out = {};
  for (const name of toolNames) {
    const t = res[name];
    out[name] = {
      backup1: t.backup1,
      backup2: t.backup2,
      restore: t.restore,
      peakRssKiB: Math.max(t.backup1.rssKiB, t.backup2.rssKiB, t.restore.rssKiB),
      repoBytes1: t.repoBytes1,
      repoBytes: t.repoBytes,
      restoreCheck: t.restoreCheck,
    };
  }
  out.mutation = mutation;
  fs.rmSync(runDir, { recursive: true, force: true });
  return out;
}

/** Removes what this run created; after a failure the logs stay for inspection. */
function cleanup(state, failed) {
  if (!state.workdir || state.keep || state.cleaned) return;
  state.cleaned = true;
  if (!failed) {
    fs.rmSync(state.workdir, { recursive: true, force: true });
    return;
  }
  for (const e of fs.readdirSync(state.workdir)) {
    if (e !== 'logs') fs.rmSync(path.join(state.workdir, e), { recursive: true, force: true });
  }
  log(`logs kept in ${path.join(state.workdir, 'logs')}`);
}

function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    return EXIT_SETUP;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const state = { workdir: null, keep: opts.keep, cleaned: false };
  process.on('SIGINT', () => {
    cleanup(state, true);
    process.exit(130);
  });
  let phase = 'setup';
  try {
    const shared = findSharedBench(REPO_ROOT);
    const versions = ensurePrerequisites(opts.tools, log);

    const parent = path.resolve(opts.workdir || os.tmpdir());
    fs.mkdirSync(parent, { recursive: true });
    state.workdir = fs.mkdtempSync(path.join(parent, 'ebm-bench-'));
    const logDir = path.join(state.workdir, 'logs');
    fs.mkdirSync(logDir);
    log(`work directory ${state.workdir}${opts.keep ? ' (kept: --keep)' : ''}`);

    const corpusRoot = opts.corpusDir ? path.resolve(opts.corpusDir) : path.join(state.workdir, 'corpus');
    const corpusBytes = CORPUS_BYTES_AT_SCALE_1[opts.corpus] * Number(opts.scale);
    // pristine corpus + working copy + two repositories + one restore, with margin
    checkFreeSpace(state.workdir, corpusBytes * 5.5);

    const password = crypto.randomBytes(18).toString('base64url');
    const all = makeTools({
      repoRoot: REPO_ROOT,
      password,
      logDir,
      resticCacheDir: path.join(state.workdir, 'restic-cache'),
    });
    const tools = {};
    for (const name of opts.tools) {
      tools[name] = all[name];
      versions[name] = tools[name].ensureAvailable();
    }

    const { dir: pristine, info } = ensureCorpus(shared, corpusRoot, opts.corpus, opts.scale, log);
    syncDisks();

    phase = 'runs';
    const ctx = { tools, toolNames: opts.tools, shared, pristine, workdir: state.workdir, runs: opts.runs };
    const runs = [];
    for (let i = 0; i < opts.runs; i++) runs.push(runOnce(ctx, i));

    const summary = summarize(runs, opts.tools);
    const result = {
      corpus: {
        name: opts.corpus,
        scale: Number(opts.scale),
        files: info.files,
        symlinks: info.symlinks,
        bytes: info.bytes,
        fingerprint: info.fingerprint,
      },
      runs: opts.runs,
      machine: { cpus: os.cpus().length, memMiB: Math.round(os.totalmem() / 2 ** 20), node: process.version },
      versions,
      settings: {
        ebm: 'encryption on (always), zstd level 3 (default)',
        restic: 'repository v2, --compression auto (zstd ~level 3), encryption always on',
      },
      summary,
      perRun: runs,
    };

    const out = [];
    out.push('');
    out.push(
      `ebm vs restic — corpus ${opts.corpus} at scale ${opts.scale} (${info.files} files, ${info.MiB} MiB), ` +
        `${opts.runs} run(s), medians; ${result.machine.cpus} CPUs, ${result.machine.memMiB} MiB RAM`,
    );
    out.push(`versions: ${Object.entries(versions).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
    out.push('');
    out.push(formatTable(summary, opts.tools));
    const missed = summary.filter((s) => s.met === false).map((s) => s.label);
    out.push('');
    if (opts.tools.length === 2) {
      out.push(missed.length ? `targets missed: ${missed.join(', ')}` : 'all targets met');
    }
    out.push('every restore was verified against the source (content, size, mode, mtime, symlinks)');
    process.stdout.write(out.join('\n') + '\n');
    if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
    cleanup(state, false);
    return 0;
  } catch (e) {
    process.stderr.write(`\nbench: ${e instanceof RestoreMismatch ? 'WRONG RESTORE — ' : ''}${e.message}\n`);
    cleanup(state, true);
    if (e instanceof RestoreMismatch) return EXIT_RESTORE_WRONG;
    return phase === 'runs' ? EXIT_TOOL_FAILED : EXIT_SETUP;
  }
}

process.exitCode = main();
