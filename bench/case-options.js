'use strict';
/**
 * The options every benchmark case script accepts (the "common options" of
 * the case convention, see README.md), plus the case's own.
 *
 * Parsing is tiny and strict: an unknown flag or a bad value throws an Error
 * whose message names the flag, before anything is built or generated. A
 * common option that a case cannot use is still accepted — run-bench.js hands
 * every case the same common options — and is listed in `opts.ignored` so the
 * case's summary can say it was ignored.
 */

const TOOLS = ['ebm', 'restic'];

const COMMON_USAGE = `Common options (every case accepts them; see "ignores" above for the ones this case does not use):
  --scale S          size of the generated data; 1 = the full-size benchmark (0.02-0.05 for a quick try)
  --runs N           repetitions, each with fresh repositories; medians are reported
  --workdir DIR      parent of the work directory (default: $TMPDIR or /tmp)
  --keep             do not delete the work directory at the end
  --corpus-dir DIR   keep/reuse pristine corpora made by make-corpus.sh here
  --only TOOL        run only ebm or only restic (for developing the harness; no ratios)
  --json             also print the case's summary as one JSON line at the end
  --summary FILE     write the case's summary (JSON, see bench/README.md) to FILE
  --check-options    only check the options: exit 0 if they are valid, 1 otherwise
  -h, --help         this text
`;

/** Common option -> [key, kind]. kind: 'flag' (no value) or a parser of the value. */
const COMMON = {
  '--scale': ['scale', (v, f) => positiveNumberText(v, f)],
  '--runs': ['runs', (v, f) => wholeAtLeastOne(v, f)],
  '--workdir': ['workdir', (v) => v],
  '--corpus-dir': ['corpusDir', (v) => v],
  '--only': ['only', (v, f) => oneOf(v, f, TOOLS)],
  '--summary': ['summaryFile', (v) => v],
  '--keep': ['keep', 'flag'],
  '--json': ['json', 'flag'],
  '--check-options': ['checkOnly', 'flag'],
  '--help': ['help', 'flag'],
  '-h': ['help', 'flag'],
};

function positiveNumberText(v, flag) {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new Error(`${flag} ${v} must be a positive number`);
  return v;
}

function wholeAtLeastOne(v, flag) {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${flag} ${v} must be a whole number >= 1`);
  return Number(v);
}

function oneOf(v, flag, allowed) {
  if (!allowed.includes(v)) throw new Error(`${flag} ${v} is not supported; use one of: ${allowed.join(', ')}`);
  return v;
}

/**
 * @param {string[]} argv  arguments without node and the script
 * @param {object} spec
 * @param {{scale: string, runs: number}} spec.defaults   the case's own defaults for --scale and --runs
 * @param {Record<string, {key: string, parse?: (v: string, flag: string) => unknown, flag?: true, default?: unknown}>} [spec.options]
 *        the case's own options (e.g. '--spread')
 * @param {string[]} [spec.ignores]  common options this case accepts but does not use (e.g. ['--corpus-dir'])
 * @returns {object} opts: scale, runs, workdir, keep, corpusDir, tools, json, summaryFile, checkOnly, help,
 *          ignored (the ignored options that were given), and one key per case option
 */
function parseCaseOptions(argv, spec) {
  const own = spec.options || {};
  const opts = {
    scale: spec.defaults.scale,
    runs: spec.defaults.runs,
    workdir: null,
    keep: false,
    corpusDir: null,
    only: null,
    json: false,
    summaryFile: null,
    checkOnly: false,
    help: false,
    ignored: [],
  };
  for (const o of Object.values(own)) opts[o.key] = o.default === undefined ? null : o.default;
  const valueOf = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value (see --help)`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (COMMON[a]) {
      const [key, kind] = COMMON[a];
      opts[key] = kind === 'flag' ? true : kind(valueOf(i++, a), a);
      if ((spec.ignores || []).includes(a) && !opts.ignored.includes(a)) opts.ignored.push(a);
    } else if (own[a]) {
      const o = own[a];
      opts[o.key] = o.flag ? true : o.parse ? o.parse(valueOf(i++, a), a) : valueOf(i++, a);
    } else {
      throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  opts.tools = opts.only ? [opts.only] : TOOLS.slice();
  return opts;
}

module.exports = { parseCaseOptions, COMMON_USAGE, COMMON, TOOLS, positiveNumberText, wholeAtLeastOne, oneOf };
