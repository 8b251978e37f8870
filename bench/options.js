'use strict';
/**
 * Command-line options of `npm run bench` (node bench/run-bench.js).
 * Parsing is deliberately tiny and strict: an unknown flag or a bad value
 * stops the run with a message that names the flag, before anything is built.
 */

const CORPORA = ['mixed', 'manyfiles'];
const TOOLS = ['ebm', 'restic'];

const USAGE = `Usage: npm run bench -- [options]
       node bench/run-bench.js [options]

Backs up, changes ~1 %, backs up again and restores one generated corpus with
ebm and with restic in the same run, and prints the ratios ebm/restic.

Options:
  --corpus NAME      mixed (default) or manyfiles
  --scale S          corpus scale passed to make-corpus.sh (default 1; 0.05 for a quick try)
  --runs N           repetitions, each with fresh repositories (default 3); medians are reported
  --workdir DIR      where corpora, repositories and restores go
                     (default: a new temporary directory under $TMPDIR or /tmp)
  --keep             do not delete the work directory at the end
  --corpus-dir DIR   reuse/keep the pristine generated corpus in DIR (made if absent;
                     never mutated, so later runs can reuse it)
  --json             also print the result object as one JSON line at the end
  --only TOOL        run only ebm or only restic (for developing the harness; no ratios)
  -h, --help         this text

Environment:
  EBM_BENCH_SHARED   folder holding make-corpus.sh, mutate.sh and lib/manifest.py
                     (default: ../shared/bench relative to the repository root)
`;

/** Parses argv (without node and script). Returns the options or throws an Error whose message is meant for the user. */
function parseOptions(argv) {
  const opts = {
    corpus: 'mixed',
    scale: '1',
    runs: 3,
    workdir: null,
    keep: false,
    corpusDir: null,
    json: false,
    tools: TOOLS.slice(),
    help: false,
  };
  const valueOf = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value (see --help)`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--corpus':
        opts.corpus = valueOf(i++, a);
        if (!CORPORA.includes(opts.corpus)) {
          throw new Error(`--corpus ${opts.corpus} is not supported; use one of: ${CORPORA.join(', ')}`);
        }
        break;
      case '--scale': {
        const v = valueOf(i++, a);
        if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new Error(`--scale ${v} must be a positive number`);
        opts.scale = v;
        break;
      }
      case '--runs': {
        const v = valueOf(i++, a);
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--runs ${v} must be a whole number >= 1`);
        opts.runs = Number(v);
        break;
      }
      case '--workdir':
        opts.workdir = valueOf(i++, a);
        break;
      case '--corpus-dir':
        opts.corpusDir = valueOf(i++, a);
        break;
      case '--only': {
        const v = valueOf(i++, a);
        if (!TOOLS.includes(v)) throw new Error(`--only ${v} is not a tool here; use ebm or restic`);
        opts.tools = [v];
        break;
      }
      case '--keep':
        opts.keep = true;
        break;
      case '--json':
        opts.json = true;
        break;
      case '-h':
      case '--help':
        opts.help = true;
        break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  return opts;
}

module.exports = { parseOptions, USAGE, CORPORA, TOOLS };
