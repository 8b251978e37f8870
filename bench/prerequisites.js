'use strict';
/**
 * Finds or installs what the benchmark needs outside this repository:
 * restic (>= 0.14, for repository v2 with zstd), GNU time, sqlite3 and python3
 * (make-corpus.sh), and the shared corpus scripts. Every install is printed.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { GNU_TIME } = require('./timed-command');

/** Folder with make-corpus.sh, mutate.sh and lib/manifest.py: $EBM_BENCH_SHARED or <repo>/../shared/bench. */
function findSharedBench(repoRoot) {
  const dir = process.env.EBM_BENCH_SHARED
    ? path.resolve(process.env.EBM_BENCH_SHARED)
    : path.resolve(repoRoot, '..', 'shared', 'bench');
  for (const f of ['make-corpus.sh', 'mutate.sh', path.join('lib', 'manifest.py')]) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new Error(
        `benchmark scripts not found: ${path.join(dir, f)} is missing. ` +
          'Set EBM_BENCH_SHARED to the folder holding make-corpus.sh, mutate.sh and lib/manifest.py.',
      );
    }
  }
  return dir;
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** Installs a Debian package when running as root; otherwise throws with the command to run. */
function aptInstall(pkg, why, log) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error(`${why} is missing; install it (e.g. "sudo apt-get install -y ${pkg}") and run the benchmark again`);
  }
  log(`${why} is missing: running "apt-get install -y ${pkg}"`);
  let res = spawnSync('apt-get', ['install', '-y', pkg], { encoding: 'utf8' });
  if (res.status !== 0) {
    log('apt-get install failed; running "apt-get update" and trying once more');
    spawnSync('apt-get', ['update'], { encoding: 'utf8' });
    res = spawnSync('apt-get', ['install', '-y', pkg], { encoding: 'utf8' });
  }
  if (res.status !== 0) {
    throw new Error(`"apt-get install -y ${pkg}" failed:\n${(res.stderr || '').trim().split('\n').slice(-5).join('\n')}`);
  }
}

/** restic version as [major, minor, patch], or null when it is not installed. */
function resticVersion() {
  const res = spawnSync('restic', ['version'], { encoding: 'utf8' });
  if (res.status !== 0) return null;
  const m = /restic (\d+)\.(\d+)\.(\d+)/.exec(res.stdout);
  return m ? { text: m[0], parts: m.slice(1).map(Number) } : null;
}

/**
 * Ensures every external tool is present (installing with apt-get when root).
 * @param {string[]} tools the tools being compared ('ebm', 'restic')
 * @param {(msg: string) => void} log
 * @returns {{restic: string | null}} the restic version line, for the report
 */
function ensurePrerequisites(tools, log) {
  if (!fs.existsSync(GNU_TIME)) aptInstall('time', `GNU time (${GNU_TIME})`, log);
  if (!onPath('python3')) aptInstall('python3', 'python3', log);
  if (!onPath('sqlite3')) aptInstall('sqlite3', 'sqlite3 (needed by make-corpus.sh)', log);
  let restic = null;
  if (tools.includes('restic')) {
    if (!onPath('restic')) aptInstall('restic', 'restic', log);
    const v = resticVersion();
    if (!v) throw new Error('restic is installed but "restic version" failed');
    const [maj, min] = v.parts;
    if (maj === 0 && min < 14) {
      throw new Error(`${v.text} is too old: the comparison needs restic >= 0.14 (repository v2 with zstd)`);
    }
    restic = v.text;
  }
  return { restic };
}

/** Throws if the file system of dir has clearly less free space than needed (bytes). */
function checkFreeSpace(dir, neededBytes) {
  const st = fs.statfsSync(dir);
  const free = st.bavail * st.bsize;
  if (free < neededBytes) {
    const gib = (b) => (b / 2 ** 30).toFixed(1);
    throw new Error(
      `${dir} has ${gib(free)} GiB free but this run needs about ${gib(neededBytes)} GiB; ` +
        'choose another place with --workdir or a smaller --scale',
    );
  }
}

module.exports = { findSharedBench, ensurePrerequisites, checkFreeSpace, onPath, aptInstall };
