#!/usr/bin/env node
'use strict';
/**
 * Case `endpoints`: five endpoints that share one base image, stored as
 * overlay layers by ebm and as five merged trees by restic, in the same run.
 *
 * The `endpoints` corpus of make-corpus.sh holds `base/` (600 MiB at scale 1)
 * and `ep1..ep5/`, each a full tree = base + ~20 MiB of its own changes
 * (edited, appended, rewritten, deleted and new files). Per run, each
 * endpoint becomes an overlay stack: base as the lowerdir, an empty upperdir,
 * mounted, and the endpoint's differences from base written THROUGH the
 * mount, so the kernel makes the upper layer (copy-ups, real 0/0 whiteouts
 * for deletions). The merged mount then equals epN (checked for ep5).
 *
 * Then, endpoint by endpoint (ep1 … ep5; the tools take turns going first):
 *   ebm:    ebm backup --provider overlay --lower BASE --upper UPPER_N --dataset epN
 *   restic: (cd MERGED_N && restic backup .)
 * and finally both restore ep5 (ebm flattened: base + ep5's upper merged)
 * into empty directories, each checked against ep5's manifest (manifest.py).
 * Then ebm times endpoints 2-5 again as jobs of a running `ebm serve` (hostPass),
 * and a last pass times them again, in fresh repositories, with the
 * page cache dropped before each backup (coldPass).
 *
 * Targets (issue 6): the repository after all five no larger than restic's;
 * backing up endpoints 2–5 takes at most a fifth of restic's time for them,
 * because their base layer is stored once and never read again; reported
 * both for one `ebm backup` process per endpoint and for jobs of a running
 * host (the fleet deployment: no per-endpoint process start or key derivation).
 * Every mount is unmounted at the end, also when the run fails.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { runCase, RestoreMismatch } = require('./case-main');
const { syncDisks, EBM_MAIN, ebmEnv, turnOrder } = require('./bench-util');
const { atMost, summarizeRuns } = require('./metrics');
const { runTimed, runChecked } = require('./timed-command');
const { findSharedBench, ensurePrerequisites, checkFreeSpace } = require('./prerequisites');
const { ensureCorpus, makeManifest, checkManifest, duBytes } = require('./corpus');
const { makeTools, lastJsonLine } = require('./tools');
const { startHost } = require('./ebm-host');

const REPO_ROOT = path.resolve(__dirname, '..');
const MiB = 2 ** 20;
const ENDPOINTS = ['ep1', 'ep2', 'ep3', 'ep4', 'ep5'];
const RESTORED = 'ep5';
/** The corpus at scale 1: 600 MiB base + 5 × ~620 MiB endpoint trees. */
const CORPUS_BYTES_AT_SCALE_1 = 3.7 * 2 ** 30;

const USAGE = `Usage: node bench/endpoints-bench.js [options]   (as root: it mounts overlays)

Case "endpoints": the endpoints corpus of make-corpus.sh (a 600 MiB base and five
endpoints of ~20 MiB own changes each, at --scale 1) as overlay stacks; ebm backs
up each endpoint's layers (ebm backup --provider overlay --lower BASE --upper UPPER),
restic each merged tree. Then both restore ep5; ebm's restore is flattened.
Targets: repository after all five <= restic's; endpoints 2-5 take <= 0.2 of
restic's time. Defaults: --scale 1, --runs 1. --corpus-dir keeps the corpus.
`;

/** ebm's layered backup and restore, in the shape of tools.js's tools. */
function makeEbmLayers(ctx) {
  const main = EBM_MAIN;
  const env = ebmEnv(ctx.password);
  return {
    name: 'ebm',
    ensureAvailable() {
      if (!fs.existsSync(main)) throw new Error(`${main} does not exist: build ebm first (npx tsc -b), or run with --only restic`);
      return `node ${process.version}, --provider overlay`;
    },
    init(repo) {
      runChecked('ebm init', process.execPath, [main, 'init', '-r', repo], { env });
    },
    /** One endpoint: its stack as --lower/--upper. */
    backup(repo, stack, label) {
      const args = [main, 'backup', '-r', repo, '--provider', 'overlay', '--lower', stack.lower, '--upper', stack.upper, '--dataset', stack.name, '--json'];
      const r = runTimed({ label, cmd: process.execPath, args, env, logDir: ctx.logDir });
      const summary = lastJsonLine(r.stdout);
      if (!summary || summary.type !== 'summary' || !Array.isArray(summary.layers)) throw new Error(`${label}: no layered summary line (see ${ctx.logDir})`);
      return { wallS: r.wallS, rssKiB: r.rssKiB, summary };
    },
    /** The endpoint snapshot, flattened (the default for an endpoint snapshot). */
    restore(repo, snapshot, target, label) {
      const r = runTimed({ label, cmd: process.execPath, args: [main, 'restore', '-r', repo, snapshot, '--target', target, '--json'], env, logDir: ctx.logDir });
      return { wallS: r.wallS, rssKiB: r.rssKiB };
    },
  };
}

/** type/size/mode/mtime/target of every entry below root, by relative path (lstat, no links followed). */
function scanTree(root) {
  const out = new Map();
  const visit = (rel) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : 'o';
      out.set(r, { type, size: st.size, mode: st.mode & 0o7777, mtimeS: Math.floor(st.mtimeMs / 1000), uid: st.uid, gid: st.gid, target: type === 'l' ? fs.readlinkSync(abs) : null });
      if (type === 'd') visit(r);
    }
  };
  visit('');
  return out;
}

const sameEntry = (a, b) => a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid &&
  (a.type === 'd' || (a.size === b.size && a.mtimeS === b.mtimeS && a.target === b.target));

/**
 * Makes the merged mount look like `endpoint` by writing only the
 * differences from `base` through it: deletions (the kernel writes
 * whiteouts), then new or changed entries in path order (parents first).
 * Content equality is judged like make-corpus's own changes are made: a
 * changed file always has a new mtime or size.
 */
function applyDifferences(baseTree, endpoint, merged) {
  const epTree = scanTree(endpoint);
  const stats = { deleted: 0, written: 0, bytes: 0 };
  const gone = [];
  for (const [rel, b] of baseTree) {
    const e = epTree.get(rel);
    if (e !== undefined && e.type === b.type) continue;
    if (gone.some((g) => rel.startsWith(`${g}/`))) continue;
    fs.rmSync(path.join(merged, rel), { recursive: true, force: true });
    gone.push(rel);
    stats.deleted += 1;
  }
  for (const [rel, e] of epTree) {
    const b = baseTree.get(rel);
    if (b !== undefined && b.type === e.type && sameEntry(b, e)) continue;
    const src = path.join(endpoint, rel);
    const dst = path.join(merged, rel);
    if (e.type === 'd') {
      fs.mkdirSync(dst, { recursive: true });
    } else if (e.type === 'f') {
      fs.copyFileSync(src, dst);
      stats.bytes += e.size;
    } else if (e.type === 'l') {
      fs.rmSync(dst, { force: true });
      fs.symlinkSync(e.target, dst);
    } else {
      throw new Error(`${src}: the corpus holds a special file; this case does not expect one`);
    }
    if (e.type !== 'l') {
      fs.chmodSync(dst, e.mode);
      fs.chownSync(dst, e.uid, e.gid);
      if (e.type === 'f') fs.utimesSync(dst, e.mtimeS, e.mtimeS);
    }
    stats.written += 1;
  }
  // Directory times last: writing into a directory moves its mtime (manifest.py ignores them; kept for a fair tree).
  return stats;
}

/** The overlay stacks of a run: mount, unmount every one that was mounted (also after a failure). */
function makeStacks(runDir, base) {
  const mounted = [];
  return {
    mount(name) {
      const s = { name, lower: base, upper: path.join(runDir, 'upper', name), work: path.join(runDir, 'work', name), merged: path.join(runDir, 'merged', name) };
      for (const d of [s.upper, s.work, s.merged]) fs.mkdirSync(d, { recursive: true });
      runChecked(`mount ${name}`, 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${s.lower},upperdir=${s.upper},workdir=${s.work}`, s.merged]);
      mounted.push(s.merged);
      return s;
    },
    unmountAll() {
      const failed = [];
      while (mounted.length > 0) {
        const m = mounted.pop();
        const r = spawnSync('umount', [m], { stdio: 'ignore' });
        if (r.status !== 0 && spawnSync('umount', ['-l', m], { stdio: 'ignore' }).status !== 0) failed.push(m);
      }
      if (failed.length > 0) throw new Error(`could not unmount ${failed.join(', ')}: unmount them by hand`);
    },
  };
}


/**
 * The same backups of endpoints 2-5 with the page cache dropped before each
 * one (as on an endpoint whose base image is not in memory): fresh
 * repositories, ep1 stored first (not timed), then each later endpoint after
 * `sync; echo 3 > /proc/sys/vm/drop_caches`. Reported beside the warm figure;
 * the issue's target is judged on the warm one.
 */
function coldPass(ctx, run, runDir, stack, res) {
  for (const name of ctx.names) {
    const repo = path.join(runDir, `repo-cold-${name}`);
    ctx.tools[name].init(repo);
    const backup = (ep, label) => (name === 'ebm' ? ctx.tools.ebm.backup(repo, stack[ep], label) : ctx.tools.restic.backup(repo, stack[ep].merged, label));
    backup('ep1', `${name}-cold-ep1-run${run + 1}`);
    res[name].laterCold = 0;
    for (const ep of ENDPOINTS.slice(1)) {
      dropCaches();
      res[name].laterCold += backup(ep, `${name}-cold-${ep}-run${run + 1}`).wallS;
    }
    log(`  ${name.padEnd(6)} endpoints 2-5 with a cold page cache ${res[name].laterCold.toFixed(2)} s`);
    fs.rmSync(repo, { recursive: true, force: true });
  }
  function log(line) {
    ctx.log(line);
  }
}

function dropCaches() {
  syncDisks();
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/**
 * Endpoints 2-5 again as jobs of a running host (`ebm serve`, the way a fleet
 * is backed up: the host keeps the key and warm plugin workers between jobs),
 * in a fresh repository with the same stacks as layered datasets; ep1 first,
 * not timed. Timed per job from the API request to the job's end. restic has
 * no host process: its figure beside this one is its CLI's.
 */
async function hostPass(ctx, run, runDir, stack, res) {
  const work = path.join(runDir, 'host');
  fs.mkdirSync(work);
  const repo = path.join(work, 'repo');
  ctx.tools.ebm.init(repo);
  const datasets = Object.fromEntries(ENDPOINTS.map((ep) => [ep, `provider: overlay, source: "overlayfs:lowerdir=${stack[ep].lower},upperdir=${stack[ep].upper}"`]));
  const host = await startHost({ work, repo, datasets, password: ctx.password });
  try {
    await host.backup('ep1');
    res.ebm.laterHost = 0;
    for (const ep of ENDPOINTS.slice(1)) {
      const r = await host.backup(ep);
      const layers = r.result.layers.map((l) => `${l.id} ${l.action}`).join(', ');
      if (!/lower-0 referenced/.test(layers)) throw new Error(`host backup of ${ep}: the base was not referenced (${layers})`);
      res.ebm.laterHost += r.wallS;
      ctx.log(`  ${ep}: ebm serve job ${r.wallS.toFixed(2)} s (${layers})`);
    }
  } finally {
    await host.stop();
  }
  ctx.log(`  ebm    endpoints 2-5 as jobs of ebm serve ${res.ebm.laterHost.toFixed(2)} s`);
  fs.rmSync(work, { recursive: true, force: true });
}

async function runOnce(ctx, run) {
  const { log, pristine } = ctx;
  const runDir = path.join(ctx.workdir, `run-${run + 1}`);
  const base = path.join(pristine, 'base');
  const stacks = makeStacks(runDir, base);
  const res = {};
  try {
    const baseTree = scanTree(base);
    const stack = {};
    for (const name of ENDPOINTS) {
      stack[name] = stacks.mount(name);
      const d = applyDifferences(baseTree, path.join(pristine, name), stack[name].merged);
      log(`  ${name}: overlay mounted, ${d.written} entries written (${(d.bytes / MiB).toFixed(1)} MiB) and ${d.deleted} deleted through it`);
    }
    syncDisks();
    const manifest = path.join(runDir, `${RESTORED}.manifest.json`);
    makeManifest(ctx.shared, path.join(pristine, RESTORED), manifest);
    const mergedCheck = checkManifest(ctx.shared, stack[RESTORED].merged, manifest);
    if (!mergedCheck.ok) throw new Error(`setup: the merged overlay of ${RESTORED} differs from the corpus tree: ${JSON.stringify(mergedCheck.summary).slice(0, 400)}`);

    for (const name of ctx.names) {
      res[name] = { repo: path.join(runDir, `repo-${name}`), perEndpoint: {} };
      ctx.tools[name].init(res[name].repo);
    }
    syncDisks();
    ENDPOINTS.forEach((ep, i) => {
      const order = turnOrder(ctx.names, run, i);
      for (const name of order) {
        const label = `${name}-backup-${ep}-run${run + 1}`;
        const r = name === 'ebm' ? ctx.tools.ebm.backup(res.ebm.repo, stack[ep], label) : ctx.tools.restic.backup(res.restic.repo, stack[ep].merged, label);
        syncDisks();
        const one = { wallS: r.wallS, rssKiB: r.rssKiB };
        if (name === 'ebm') {
          one.snapshot = r.summary.snapshot;
          one.bytesRead = r.summary.bytesRead;
          one.layers = r.summary.layers.map((l) => ({ id: l.id, kind: l.kind, action: l.action, filesRead: l.filesRead, bytesRead: l.bytesRead, bytesAdded: l.bytesAdded }));
        }
        res[name].perEndpoint[ep] = one;
      }
      log(`  ${ep}: ${ctx.names.map((n) => `${n} ${res[n].perEndpoint[ep].wallS.toFixed(2)} s`).join(', ')}` +
        (res.ebm ? ` (ebm read ${(res.ebm.perEndpoint[ep].bytesRead / MiB).toFixed(1)} MiB: ${res.ebm.perEndpoint[ep].layers.map((l) => `${l.id} ${l.action}`).join(', ')})` : ''));
    });
    for (const name of ctx.names) {
      const t = res[name].perEndpoint;
      res[name].first = t.ep1.wallS;
      res[name].later = ENDPOINTS.slice(1).reduce((s, ep) => s + t[ep].wallS, 0);
      res[name].repoBytes = duBytes(res[name].repo);
      res[name].rssKiB = Math.max(...ENDPOINTS.map((ep) => t[ep].rssKiB));
      log(`  ${name.padEnd(6)} endpoints 2-5 ${res[name].later.toFixed(2)} s, repository ${(res[name].repoBytes / MiB).toFixed(1)} MiB`);
    }

    const order = run % 2 === 0 ? ctx.names.slice() : ctx.names.slice().reverse();
    for (const name of order) {
      const target = path.join(runDir, `restore-${name}`);
      fs.mkdirSync(target);
      const label = `${name}-restore-${RESTORED}-run${run + 1}`;
      // restic's latest snapshot is ep5's (backed up last).
      const r = name === 'ebm' ? ctx.tools.ebm.restore(res.ebm.repo, res.ebm.perEndpoint[RESTORED].snapshot, target, label) : ctx.tools.restic.restore(res.restic.repo, target, label);
      syncDisks();
      res[name].restore = r.wallS;
      const check = checkManifest(ctx.shared, target, manifest);
      if (!check.ok) throw new RestoreMismatch(`${name}'s restore of ${RESTORED} differs from its merged tree: ${JSON.stringify(check.summary).slice(0, 500)}`);
      log(`  ${name.padEnd(6)} restore of ${RESTORED} ${r.wallS.toFixed(2)} s, equal to its merged tree`);
      fs.rmSync(target, { recursive: true, force: true });
    }
    if (res.ebm) await hostPass(ctx, run, runDir, stack, res);
    coldPass(ctx, run, runDir, stack, res);
  } finally {
    stacks.unmountAll();
  }
  fs.rmSync(runDir, { recursive: true, force: true });
  return res;
}

const METRICS = [
  { key: 'repo', label: 'repository after five endpoints', unit: 'MiB', target: atMost(1.0), pick: (r) => r.repoBytes / MiB },
  { key: 'later', label: 'backup of endpoints 2-5, one process each (total)', unit: 's', target: atMost(0.2), pick: (r) => r.later },
  { key: 'laterHost', label: 'backup of endpoints 2-5, ebm as jobs of ebm serve (restic: its CLI)', unit: 's', target: atMost(0.2), pick: (r) => r.laterHost ?? r.later },
  { key: 'laterCold', label: 'backup of endpoints 2-5, cold page cache', unit: 's', target: null, pick: (r) => r.laterCold },
  { key: 'first', label: 'backup of endpoint 1', unit: 's', target: null, pick: (r) => r.first },
  { key: 'restore', label: `restore of ${RESTORED} (ebm: flattened)`, unit: 's', target: null, pick: (r) => r.restore },
  { key: 'rss', label: 'peak RSS of a backup', unit: 'MiB', aggregate: 'max', target: null, pick: (r) => r.rssKiB / 1024 },
];

runCase(
  {
    name: 'endpoints',
    title: 'endpoints: ebm overlay layers vs restic on five endpoints sharing a base',
    usage: USAGE,
    defaults: { scale: '1', runs: 1 },
  },
  async (opts, { workdir, logDir, log, measuring }) => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) throw new Error('the endpoints case mounts overlays: run it as root');
    const shared = findSharedBench(REPO_ROOT);
    const versions = ensurePrerequisites(opts.tools, log);
    // corpus (~3.7 GiB at scale 1) + uppers, repositories and two restores (~1.5 GiB at scale 1).
    checkFreeSpace(workdir, CORPUS_BYTES_AT_SCALE_1 * 1.5 * Number(opts.scale));
    const password = crypto.randomBytes(18).toString('base64url');
    const all = {
      ebm: makeEbmLayers({ password, logDir }),
      restic: makeTools({ repoRoot: REPO_ROOT, password, logDir, resticCacheDir: path.join(workdir, 'restic-cache') }).restic,
    };
    const tools = {};
    for (const name of opts.tools) {
      tools[name] = all[name];
      versions[name] = tools[name].ensureAvailable();
    }
    const corpusRoot = opts.corpusDir ? path.resolve(opts.corpusDir) : path.join(workdir, 'corpus');
    const { dir: pristine, info } = ensureCorpus(shared, corpusRoot, 'endpoints', opts.scale, log);
    const ctx = { tools, names: opts.tools, shared, pristine, workdir, log, password };

    measuring();
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      log(`run ${i + 1}/${opts.runs}`);
      runs.push(await runOnce(ctx, i));
    }
    const ownMiB = ENDPOINTS.map((ep) => ((info[ep]?.own_change_bytes ?? 0) / MiB).toFixed(1));
    return {
      description: `endpoints corpus at scale ${opts.scale} (base ${info.base?.MiB} MiB, own changes ${ownMiB.join('/')} MiB), ` +
        `${opts.runs} run(s), medians; ${os.cpus().length} CPUs. ebm: overlay layers (--lower/--upper); restic: the merged mounts`,
      versions,
      metrics: summarizeRuns(runs, METRICS, opts.tools),
      verified: `every restore of ${RESTORED} (ebm's flattened from base + upper) equalled its merged tree (content, size, mode, mtime, symlinks); the merged mount equalled the corpus tree`,
      details: { corpus: { base: info.base, fingerprint: info.base?.fingerprint }, perRun: runs },
    };
  },
);
