'use strict';
/**
 * Runs `node-gyp rebuild --release` for a native addon the way `npm ci` would
 * (the postinstall scripts build better-sqlite3 with sqlite_dbpage and the
 * extents helper offline): with npm's node-gyp and npm's `nodedir`, so it
 * builds against the installed Node headers instead of downloading them.
 * Returns spawnSync's result.
 */
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function nodeGypCommand() {
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  // Outside npm scripts: npm's bundled node-gyp, next to the running npm.
  const npmDir = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  return [process.execPath, path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
}

/** npm's configuration value for `key` when run outside npm (e.g. `nodedir=/usr`). */
function npmConfig(key) {
  const got = spawnSync('npm', ['config', 'get', key], { encoding: 'utf8' });
  const value = got.status === 0 ? got.stdout.trim() : '';
  return value && value !== 'undefined' && value !== 'null' ? value : undefined;
}

function nodeGypRebuild(cwd, extraArgs = []) {
  const [node, gyp] = nodeGypCommand();
  const args = [gyp, 'rebuild', '--release', ...extraArgs];
  const nodedir = process.env.npm_config_nodedir ?? npmConfig('nodedir');
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  return spawnSync(node, args, { cwd, stdio: 'inherit' });
}

module.exports = { nodeGypRebuild };
