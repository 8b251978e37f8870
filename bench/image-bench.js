#!/usr/bin/env node
'use strict';
/**
 * Case `image`: block-level backup of a sparse VM-style disk image, ebm
 * (`--block-mode '*.img'`) against restic, in the same run.
 *
 * Each run: create a sparse image (4 GiB logical at scale 1, 1/8 of it data
 * in scattered 16 MiB extents, the rest holes), fresh repositories, first
 * backup with both tools, change 1 % of its 1 MiB blocks (70 % of them get a
 * 4 KiB write inside existing data, 30 % are holes that get a full block of
 * new data), second backup with both, restore `latest` with both into empty
 * directories; each restored image must be byte-identical to the changed
 * source (SHA-256 of its whole logical length). Tools take turns going first.
 *
 * Reported (medians over runs), as ratios ebm/restic:
 *   bytes the second backup added to the repository (du -sb delta)   target <= 1.0
 *   second backup wall time, restore wall time                       (information)
 *   restored image: allocated MiB (st_blocks; sparse = close to the data)  (information)
 * and the first backup's time and both repository sizes.
 *
 * Standalone, in the case convention of sqlite-bench.js (case-main.js):
 * common options, own table, --summary FILE, exit 0/1/2/3.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { runCase, RestoreMismatch } = require('./case-main');
const { syncDisks, sha256File, seeded, shuffle, EBM_MAIN, ebmEnv, turnOrder, initRepos } = require('./bench-util');
const { atMost, summarizeRuns } = require('./metrics');
const { runTimed, runChecked } = require('./timed-command');
const { ensurePrerequisites, checkFreeSpace } = require('./prerequisites');
const { duBytes } = require('./corpus');
const { makeTools, lastJsonLine } = require('./tools');

const REPO_ROOT = path.resolve(__dirname, '..');
const MiB = 2 ** 20;
const IMAGE = 'disk.img';
const EXTENT = 16 * MiB;

const USAGE = `Usage: node bench/image-bench.js [options]

Case "image": a sparse VM-style disk image (4 GiB logical at --scale 1, 1/8 data),
first backup, 1 % of its 1 MiB blocks changed, second backup and restore, with
ebm (--block-mode '*.img') and restic. Target: the second backup adds no more
bytes than restic's. Times and the restored image's allocation are reported.
Defaults: --scale 1, --runs 1. Ignores: --corpus-dir (the image is generated).

Own options:
  --block-size SIZE  ebm's --block-mode-block-size (default: the translator's, 1MiB)
`;

/** ebm with block mode, in the shape of tools.js's tools. */
function makeEbmImage(ctx) {
  const main = EBM_MAIN;
  const env = ebmEnv(ctx.password);
  const extra = ['--block-mode', '*.img', ...(ctx.blockSize ? ['--block-mode-block-size', ctx.blockSize] : [])];
  return {
    name: 'ebm',
    ensureAvailable() {
      if (!fs.existsSync(main)) throw new Error(`${main} does not exist: build ebm first (npx tsc -b), or run with --only restic`);
      return `node ${process.version}, --block-mode`;
    },
    init(repo) {
      runChecked('ebm init', process.execPath, [main, 'init', '-r', repo], { env });
    },
    backup(repo, sourceDir, label) {
      const args = [main, 'backup', '-r', repo, sourceDir, '--dataset', 'bench', '--json', ...extra];
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

/** Positioned writes; the file is created sparse (truncate) when `size` is given. */
function writeImage(file, writes, size) {
  const fd = fs.openSync(file, size !== undefined ? 'w' : 'r+');
  try {
    if (size !== undefined) fs.ftruncateSync(fd, size);
    for (const [offset, data] of writes) fs.writeSync(fd, data, 0, data.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** The image: data extents at pseudo-random, non-overlapping 16 MiB slots (seeded, so every run is alike). */
function createImage(file, logical, rand) {
  const slots = Math.floor(logical / EXTENT);
  const chosen = shuffle([...Array(slots).keys()], rand).slice(0, Math.max(1, Math.floor(slots / 8))).sort((a, b) => a - b);
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, logical);
    for (const slot of chosen) fs.writeSync(fd, crypto.randomBytes(EXTENT), 0, EXTENT, slot * EXTENT);
  } finally {
    fs.closeSync(fd);
  }
  return chosen.map((slot) => slot * EXTENT);
}

/** 1 % of the image's 1 MiB blocks: 70 % get a 4 KiB write inside data, 30 % are holes filled with a new block. */
function changeImage(file, logical, extents, rand) {
  const blocks = Math.max(1, Math.round(logical / MiB / 100));
  const inData = Math.round(blocks * 0.7);
  const dataBlocks = extents.flatMap((o) => Array.from({ length: EXTENT / MiB }, (_, i) => o / MiB + i));
  const dataSet = new Set(dataBlocks);
  const holes = shuffle([...Array(logical / MiB).keys()].filter((b) => !dataSet.has(b)), rand).slice(0, blocks - inData);
  const writes = [
    ...shuffle(dataBlocks, rand).slice(0, inData).map((b) => [b * MiB + Math.floor(rand() * 256) * 4096, crypto.randomBytes(4096)]),
    ...holes.map((b) => [b * MiB, crypto.randomBytes(MiB)]),
  ];
  writeImage(file, writes);
  return { blocks, inData, holesFilled: holes.length };
}

const allocated = (file) => fs.statSync(file).blocks * 512;

function runOnce(ctx, run) {
  const { log } = ctx;
  const runDir = path.join(ctx.workdir, `run-${run + 1}`);
  const source = path.join(runDir, 'source');
  fs.mkdirSync(source, { recursive: true });
  const image = path.join(source, IMAGE);
  const rand = seeded(0x1a9e + run);
  const extents = createImage(image, ctx.logical, rand);
  log(`  image: ${(ctx.logical / 2 ** 30).toFixed(2)} GiB logical, ${(allocated(image) / MiB).toFixed(0)} MiB allocated in ${extents.length} extents`);
  const res = initRepos(ctx.tools, ctx.names, runDir);
  const order = (phase) => turnOrder(ctx.names, run, phase);

  for (const name of order(0)) {
    const r = ctx.tools[name].backup(res[name].repo, source, `${name}-backup1-run${run + 1}`);
    syncDisks();
    res[name].backup1 = r.wallS;
    res[name].repo1 = duBytes(res[name].repo);
    log(`  ${name.padEnd(6)} first backup   ${r.wallS.toFixed(2)} s, repository ${(res[name].repo1 / MiB).toFixed(1)} MiB`);
  }

  const change = changeImage(image, ctx.logical, extents, rand);
  const expected = sha256File(image);
  const sourceAllocated = allocated(image);
  syncDisks();
  log(`  changed ${change.blocks} blocks (${change.inData} inside data, ${change.holesFilled} holes filled)`);

  for (const name of order(1)) {
    const r = ctx.tools[name].backup(res[name].repo, source, `${name}-backup2-run${run + 1}`);
    syncDisks();
    res[name].backup2 = r.wallS;
    res[name].repo2 = duBytes(res[name].repo);
    res[name].added2 = res[name].repo2 - res[name].repo1;
    log(`  ${name.padEnd(6)} second backup  ${r.wallS.toFixed(2)} s, added ${(res[name].added2 / MiB).toFixed(1)} MiB`);
  }

  for (const name of order(2)) {
    const target = path.join(runDir, `restore-${name}`);
    fs.mkdirSync(target);
    const r = ctx.tools[name].restore(res[name].repo, target, `${name}-restore-run${run + 1}`);
    syncDisks();
    res[name].restore = r.wallS;
    const file = path.join(target, IMAGE);
    if (!fs.existsSync(file)) throw new RestoreMismatch(`${name} did not restore ${IMAGE}`);
    if (fs.statSync(file).size !== ctx.logical) throw new RestoreMismatch(`${name} restored ${IMAGE} with ${fs.statSync(file).size} bytes, the source has ${ctx.logical}`);
    const got = sha256File(file);
    if (got !== expected) throw new RestoreMismatch(`${name} restored ${file} with sha256 ${got}, the source has ${expected}`);
    res[name].restoredAllocated = allocated(file);
    log(`  ${name.padEnd(6)} restore        ${r.wallS.toFixed(2)} s, byte-identical, ${(res[name].restoredAllocated / MiB).toFixed(0)} MiB allocated (source ${(sourceAllocated / MiB).toFixed(0)} MiB)`);
    fs.rmSync(target, { recursive: true, force: true });
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  return res;
}

const METRICS = [
  { key: 'added2', label: 'second backup: bytes added', unit: 'MiB', target: atMost(1.0), pick: (r) => r.added2 / MiB },
  { key: 'backup2', label: 'second backup', unit: 's', target: null, pick: (r) => r.backup2 },
  { key: 'restore', label: 'restore', unit: 's', target: null, pick: (r) => r.restore },
  { key: 'restoredAllocated', label: 'restored image allocated', unit: 'MiB', target: null, pick: (r) => r.restoredAllocated / MiB },
  { key: 'backup1', label: 'first backup', unit: 's', target: null, pick: (r) => r.backup1 },
  { key: 'repo1', label: 'repository after first', unit: 'MiB', target: null, pick: (r) => r.repo1 / MiB },
  { key: 'repo2', label: 'repository after second', unit: 'MiB', target: null, pick: (r) => r.repo2 / MiB },
];

runCase(
  {
    name: 'image',
    title: 'image: ebm --block-mode vs restic on a sparse VM disk image',
    usage: USAGE,
    defaults: { scale: '1', runs: 1 },
    ignores: ['--corpus-dir'],
    options: {
      '--block-size': {
        key: 'blockSize',
        parse: (v, f) => {
          if (!/^\d+(\.\d+)?\s*([KMG](i?B)?)?$/i.test(v)) throw new Error(`${f} ${v} must be a size such as 1MiB or 262144`);
          return v;
        },
      },
    },
  },
  (opts, { workdir, logDir, log, measuring }) => {
    const versions = ensurePrerequisites(opts.tools, log);
    // Whole MiB, at least 64 MiB, so 1 % of the blocks is at least one block.
    const logical = Math.max(64, Math.round(4096 * Number(opts.scale))) * MiB;
    // Sparse source (1/8) + restic's non-sparse restore (1x) + repositories (~1/4 each).
    checkFreeSpace(workdir, logical * 2);
    const password = crypto.randomBytes(18).toString('base64url');
    const all = {
      ebm: makeEbmImage({ password, logDir, blockSize: opts.blockSize }),
      restic: makeTools({ repoRoot: REPO_ROOT, password, logDir, resticCacheDir: path.join(workdir, 'restic-cache') }).restic,
    };
    const tools = {};
    for (const name of opts.tools) {
      tools[name] = all[name];
      versions[name] = tools[name].ensureAvailable();
    }
    const ctx = { tools, names: opts.tools, workdir, logical, log };

    measuring();
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      log(`run ${i + 1}/${opts.runs}`);
      runs.push(runOnce(ctx, i));
    }
    return {
      description: `sparse image of ${(logical / 2 ** 30).toFixed(2)} GiB logical (1/8 data), 1 % of 1 MiB blocks changed, ${opts.runs} run(s), medians; ${os.cpus().length} CPUs`,
      versions,
      metrics: summarizeRuns(runs, METRICS, opts.tools),
      verified: 'every restored image was byte-identical (SHA-256 over its logical length) to the changed source',
      details: { logicalBytes: logical, blockSize: opts.blockSize ?? '1MiB', perRun: runs },
    };
  },
);
