#!/usr/bin/env node
'use strict';
/**
 * `journal` case: the incremental backup of a 100k-file tree in which 100
 * files changed, ebm with a trusted change journal (ebm serve + fswatch) and
 * without one (a walk, `ebm backup`), against restic's incremental of the
 * same changes, in one run.
 *
 * Per run: generate the tree (seeded), first backup with both tools (ebm's
 * through the host, which makes it the journal's base), then
 *   1. change 100 files → restic backup vs ebm backup with the journal
 *      (timed from the API request to the job's end, as an operator's
 *      scheduler sees it; the host was already running);
 *   2. change 100 other files → restic backup vs `ebm backup` (a one-off
 *      process that walks the tree, no journal);
 * then restore ebm's last snapshot and compare it with the source
 * (manifest.py: content, size, mode, mtime).
 *
 * Target (issue 7): with a trusted journal the incremental takes at most a
 * tenth of restic's time.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { runCase, RestoreMismatch } = require('./case-main');
const { syncDisks, seeded } = require('./bench-util');
const { startHost, sleep } = require('./ebm-host');
const { atMost, summarizeRuns } = require('./metrics');
const { makeTools } = require('./tools');
const { runChecked } = require('./timed-command');
const { findSharedBench, ensurePrerequisites, checkFreeSpace, onPath, aptInstall } = require('./prerequisites');
const { makeManifest, checkManifest } = require('./corpus');

const REPO_ROOT = path.resolve(__dirname, '..');
const FILES_PER_DIR = 100;
const CHANGED = 100;

const USAGE = `journal-bench.js — the 100k-file incremental with and without ebm's change journal, against restic
  --scale S   the tree has 100000 × S files (default 1), 100 per directory; 100 files change per step`;

function makeTree(root, files, rand) {
  const dirs = Math.ceil(files / FILES_PER_DIR);
  const paths = [];
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `g${d % 10}`, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_DIR && paths.length < files; f++) {
      const file = path.join(dir, `f${f}.txt`);
      fs.writeFileSync(file, crypto.randomBytes(50 + Math.floor(rand() * 1500)).toString('base64'));
      paths.push(file);
    }
  }
  return paths;
}

function changeFiles(paths, rand, step) {
  const chosen = new Set();
  while (chosen.size < Math.min(CHANGED, paths.length)) chosen.add(paths[Math.floor(rand() * paths.length)]);
  for (const file of chosen) fs.appendFileSync(file, ` step ${step} ${crypto.randomBytes(8).toString('hex')}\n`);
}

/** A running `ebm serve` with one dataset (the tree) that keeps a change journal, once the journal watches. */
async function startJournalHost(work, repo, source, password, log) {
  const host = await startHost({ work, repo, password, datasets: { tree: `source: ${source}, journal: {}` } });
  for (const end = Date.now() + 300_000; ; await sleep(100)) {
    const status = await host.api('GET', '/api/v1/status');
    const journal = status.datasets.find((d) => d.name === 'tree').journal;
    if (journal?.state === 'watching') break;
    if (Date.now() > end) {
      await host.stop();
      throw new Error(`the change journal did not start: ${JSON.stringify(journal)}`);
    }
  }
  log('  ebm serve is watching the tree');
  return { backup: () => host.backup('tree'), stop: host.stop };
}

async function runOnce(ctx, run) {
  const { log } = ctx;
  const runDir = path.join(ctx.workdir, `run-${run + 1}`);
  const source = path.join(runDir, 'tree');
  const rand = seeded(0x10a7 + run);
  const paths = makeTree(source, ctx.files, rand);
  syncDisks();
  log(`  tree: ${paths.length} files in ${Math.ceil(paths.length / FILES_PER_DIR)} directories`);
  const res = { ebm: {}, restic: {} };
  const resticRepo = path.join(runDir, 'repo-restic');
  const ebmRepo = path.join(runDir, 'repo-ebm');
  const { restic, ebm } = ctx.tools;
  restic.init(resticRepo);
  ebm.init(ebmRepo);
  res.restic.backup1 = restic.backup(resticRepo, source, `restic-backup1-run${run + 1}`).wallS;
  const host = await startJournalHost(runDir, ebmRepo, source, ctx.password, log);
  try {
    const first = await host.backup();
    res.ebm.backup1 = first.wallS;
    log(`  first backups: restic ${res.restic.backup1.toFixed(2)} s, ebm (host) ${first.wallS.toFixed(2)} s`);

    // 1. with the journal
    changeFiles(paths, rand, 1);
    syncDisks();
    const order = run % 2 === 0 ? ['restic', 'ebm'] : ['ebm', 'restic'];
    for (const name of order) {
      if (name === 'restic') {
        res.restic.journal = restic.backup(resticRepo, source, `restic-backup2-run${run + 1}`).wallS;
      } else {
        const r = await host.backup();
        if (!r.result.changeJournal?.used) throw new Error(`the journal was not used: ${JSON.stringify(r.result.changeJournal)}`);
        res.ebm.journal = r.wallS;
        res.ebm.journalJob = r.jobS;
      }
      syncDisks();
    }
    log(`  incremental, 100 files changed: restic ${res.restic.journal.toFixed(2)} s; ebm with journal ${res.ebm.journal.toFixed(3)} s (job ${res.ebm.journalJob.toFixed(3)} s)`);
  } finally {
    await host.stop();
  }

  // 2. without a journal: a one-off process that walks the tree
  changeFiles(paths, rand, 2);
  syncDisks();
  const order = run % 2 === 0 ? ['ebm', 'restic'] : ['restic', 'ebm'];
  for (const name of order) {
    // ebm's one-off backup files its snapshot under the host's dataset name, so it continues that chain.
    const r = name === 'ebm' ? ebm.backup(ebmRepo, source, `ebm-walk-run${run + 1}`, 'tree') : restic.backup(resticRepo, source, `restic-backup3-run${run + 1}`);
    res[name].walk = r.wallS;
    syncDisks();
  }
  log(`  incremental, 100 files changed, no journal: restic ${res.restic.walk.toFixed(2)} s; ebm ${res.ebm.walk.toFixed(2)} s`);

  const manifest = path.join(runDir, 'manifest.json');
  makeManifest(ctx.shared, source, manifest);
  const target = path.join(runDir, 'restore-ebm');
  fs.mkdirSync(target);
  ebm.restore(ebmRepo, target, `ebm-restore-run${run + 1}`);
  const check = checkManifest(ctx.shared, target, manifest);
  if (!check.ok) throw new RestoreMismatch(`ebm's restore of the last snapshot differs from the source: ${JSON.stringify(check.summary).slice(0, 500)}`);
  fs.rmSync(runDir, { recursive: true, force: true });
  return res;
}

const METRICS = [
  { key: 'journal', label: 'incremental with a trusted journal (ebm serve)', unit: 's', target: atMost(0.1), pick: (r) => r.journal },
  { key: 'walk', label: 'incremental without a journal (walk)', unit: 's', target: null, pick: (r) => r.walk },
  { key: 'backup1', label: 'first backup', unit: 's', target: null, pick: (r) => r.backup1 },
];

runCase(
  {
    name: 'journal',
    title: 'journal: 100k-file incremental, ebm with and without a change journal vs restic',
    usage: USAGE,
    defaults: { scale: '1', runs: 1 },
    ignores: ['--corpus-dir', '--only'],
  },
  async (opts, { workdir, logDir, log, measuring }) => {
    const versions = ensurePrerequisites(['ebm', 'restic'], log);
    if (!onPath('fswatch')) aptInstall('fswatch', 'fswatch (ebm change journals)', log);
    versions.fswatch = runChecked('fswatch --version', 'fswatch', ['--version']).split('\n')[0];
    const files = Math.max(1000, Math.round(100_000 * Number(opts.scale)));
    checkFreeSpace(workdir, files * 8192 * 4);
    const password = crypto.randomBytes(18).toString('base64url');
    const both = makeTools({ repoRoot: REPO_ROOT, password, logDir, resticCacheDir: path.join(workdir, 'restic-cache') });
    const tools = { ebm: both.ebm, restic: both.restic };
    for (const name of ['ebm', 'restic']) versions[name] = tools[name].ensureAvailable();
    const ctx = { tools, workdir, files, password, log, shared: findSharedBench(REPO_ROOT) };
    measuring();
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      log(`run ${i + 1}/${opts.runs}`);
      runs.push(await runOnce(ctx, i));
    }
    const jobTimes = runs.map((r) => r.ebm.journalJob);
    return {
      description: `${files} files (100 per directory), 100 changed per step, ${opts.runs} run(s), medians; ${os.cpus().length} CPUs. ebm with a journal: a running ebm serve, timed from the API request to the job's end`,
      versions,
      metrics: summarizeRuns(runs, METRICS, ['ebm', 'restic']),
      verified: "ebm's last snapshot restored equal to the source (content, size, mode, mtime); every journalled backup reported changeJournal.used",
      details: { files, ebmJournalJobSeconds: jobTimes, perRun: runs },
    };
  },
);
