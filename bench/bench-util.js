'use strict';
/**
 * Small helpers every case script needs (bench/README.md, "The case
 * convention"): one copy, so the cases measure and verify the same way.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const REPO_ROOT = path.resolve(__dirname, '..');
/** The compiled CLI of this checkout. */
const EBM_MAIN = path.join(REPO_ROOT, 'core', 'dist', 'cli', 'main.js');

/** Flushes dirty pages (not timed) so one tool's write-back is not billed to the next command. */
function syncDisks() {
  spawnSync('sync', [], { stdio: 'ignore' });
}

/** SHA-256 of a file, read in 8 MiB pieces. */
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

/** A seeded xorshift32 generator in [0, 1): every run of a case makes the same data. */
function seeded(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Fisher–Yates in place with the given generator. */
function shuffle(xs, rand) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** ebm's environment with this password, and no caller setting that would pick another repository or password source. */
function ebmEnv(password) {
  const env = { ...process.env, EBM_PASSWORD: password };
  delete env.EBM_PASSWORD_FILE; // it would take precedence over EBM_PASSWORD
  delete env.EBM_REPOSITORY;
  return env;
}

/**
 * The tools in the order they take in one phase of one run: the order flips
 * from run to run and from phase to phase, so neither tool always goes first
 * (the one that goes first meets a colder cache and the other's write-back).
 */
function turnOrder(names, run, phase) {
  return (run + phase) % 2 === 0 ? names.slice() : names.slice().reverse();
}

/** A fresh repository per tool, `repo-NAME` under `runDir`, initialised (then the disks synced): `{ [name]: { repo } }`. */
function initRepos(tools, names, runDir) {
  const res = {};
  for (const name of names) {
    res[name] = { repo: path.join(runDir, `repo-${name}`) };
    tools[name].init(res[name].repo);
  }
  syncDisks();
  return res;
}

module.exports = { REPO_ROOT, EBM_MAIN, syncDisks, sha256File, seeded, shuffle, ebmEnv, turnOrder, initRepos };
