'use strict';
/**
 * The corpus side of the benchmark, all through the shared scripts:
 * make-corpus.sh (generate), mutate.sh (~1 % change), lib/manifest.py (verify).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { runChecked } = require('./timed-command');

/**
 * Generates corpus `name` at `scale` under `root` (root/name), unless root
 * already holds one made with the same scale (the info file says so).
 * @returns {{dir: string, info: object}} the pristine corpus and its fingerprint file
 */
function ensureCorpus(shared, root, name, scale, log) {
  const dir = path.join(root, name);
  const infoFile = path.join(root, `${name}.info.json`);
  if (fs.existsSync(infoFile) && fs.existsSync(dir)) {
    const info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));
    if (Number(info.scale) === Number(scale)) {
      log(`reusing corpus ${dir} (${info.files} files, ${info.MiB} MiB, scale ${info.scale})`);
      return { dir, info };
    }
    log(`corpus in ${dir} has scale ${info.scale}, not ${scale}: regenerating`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(root, { recursive: true });
  log(`generating corpus ${name} at scale ${scale} in ${root} (make-corpus.sh)`);
  const t0 = Date.now();
  runChecked('make-corpus.sh', path.join(shared, 'make-corpus.sh'), ['-o', root, '-s', String(scale), name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));
  log(`corpus ready in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${info.files} files, ${info.MiB} MiB`);
  return { dir, info };
}

/** Copies the pristine corpus to dest with modes, mtimes and symlinks kept (cp -a). */
function copyTree(src, dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  runChecked('copy corpus', 'cp', ['-a', src, dest]);
}

/** Changes ~1 % of dir in place (deterministic for the same contents and round). Returns mutate.sh's JSON summary. */
function mutate(shared, dir, round) {
  const out = runChecked('mutate.sh', path.join(shared, 'mutate.sh'), [dir, String(round)]);
  const last = out.trim().split('\n').pop();
  try {
    return JSON.parse(last);
  } catch {
    return { raw: out.trim() };
  }
}

/** Writes the manifest (content hash, size, mode, mtime, symlink targets) of dir to file. */
function makeManifest(shared, dir, file) {
  runChecked('manifest.py make', 'python3', [path.join(shared, 'lib', 'manifest.py'), 'make', dir, file]);
}

/**
 * Compares a restored tree with a manifest. Never throws for a mismatch: returns
 * {ok, summary} so the caller can name the tool whose restore is wrong.
 */
function checkManifest(shared, dir, file) {
  const res = spawnSync('python3', [path.join(shared, 'lib', 'manifest.py'), 'check', dir, file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  let summary;
  try {
    summary = JSON.parse(res.stdout.trim().split('\n').pop());
  } catch {
    summary = { stdout: res.stdout, stderr: res.stderr };
  }
  return { ok: res.status === 0 && summary.ok === true, summary };
}

/** Bytes on disk of a directory tree, as `du -sb` counts them. */
function duBytes(dir) {
  const out = runChecked('du', 'du', ['-sb', dir]);
  return Number(out.split(/\s+/)[0]);
}

module.exports = { ensureCorpus, copyTree, mutate, makeManifest, checkManifest, duBytes };
