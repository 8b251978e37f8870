'use strict';
/**
 * The benchmark cases `npm run bench` knows, in the order it runs them.
 *
 * Adding a case is one line here plus its script bench/<script>, which follows
 * the case convention (bench/README.md, "Adding a case"; case-main.js does
 * the common part). A listed case whose script does not exist yet is reported
 * as "not available", which is not an error.
 *
 * name:   what --case selects, and the prefix of its own options (--NAME.OPTION)
 * script: file in bench/
 * about:  one line for --list and --help
 */
const CASES = [
  { name: 'files', script: 'files-bench.js', about: 'file tree (mixed corpus): first and second backup, restore, peak RSS, repository size (issue 2)' },
  { name: 'sqlite', script: 'sqlite-bench.js', about: 'one SQLite database, ~1 % rows changed: bytes and time of the second backup, restore' },
  { name: 'stream', script: 'stream-bench.js', about: 'ten daily dumps from stdin vs restic --stdin: repository size, total backup time' },
  { name: 'image', script: 'image-bench.js', about: 'a 4 GiB sparse VM image, 1 % of blocks changed: bytes added by the second backup (--block-mode), restore, sparseness' },
  { name: 'journal', script: 'journal-bench.js', about: '100k-file incremental with and without a change journal' },
  { name: 'endpoints', script: 'endpoints-bench.js', about: 'five overlay endpoints on one 600 MiB base: repository size, time of endpoints 2-5 (--provider overlay)' },
];

module.exports = { CASES };
