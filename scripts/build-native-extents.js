#!/usr/bin/env node
// Builds the filesystem translator's tiny native helper
// (plugins/translator-filesystem/native: lseek SEEK_DATA/SEEK_HOLE, so block
// mode does not read the holes of sparse images). Node has no binding for
// these, and no maintained npm package offers one as an N-API addon.
//
// Runs from the root package's `postinstall`, offline (node-gyp with the
// installed Node headers, `nodedir` from npm's configuration). It never fails
// the install: without the helper, block mode falls back to reading every
// block and dropping all-zero ones, and says so in the snapshot and the log.
//
// Idempotent: a binary newer than its sources that loads is kept (~1 s to
// rebuild otherwise).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { nodeGypRebuild } = require('./node-gyp-rebuild');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'plugins', 'translator-filesystem', 'native');
const binary = path.join(dir, 'build', 'Release', 'ebm_extents.node');
const sources = ['extents.c', 'binding.gyp'].map((f) => path.join(dir, f));

function upToDate() {
  if (!fs.existsSync(binary)) return false;
  const built = fs.statSync(binary).mtimeMs;
  if (sources.some((s) => fs.statSync(s).mtimeMs > built)) return false;
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(binary)}).dataExtents(0, 0)`], { stdio: 'ignore' });
  return probe.status === 0;
}

function main() {
  if (process.platform === 'win32') {
    console.log('native extents helper: not built on Windows (block mode reads every block there)');
    return;
  }
  if (upToDate()) {
    console.log('native extents helper is up to date');
    return;
  }
  const built = nodeGypRebuild(dir);
  if (built.status !== 0 || !upToDate()) {
    console.warn('warning: the native extents helper could not be built; block mode will read every block (holes are still not stored)');
    return;
  }
  console.log(`native extents helper built: ${path.relative(root, binary)}`);
}

main();
