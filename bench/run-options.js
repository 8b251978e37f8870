'use strict';
/**
 * Command-line options of `npm run bench` (node bench/run-bench.js), the
 * runner of all cases. It decides which cases run and what each one is handed:
 *
 * - common options (case-options.js) given here are handed to every case;
 *   only the ones given are handed on, so each case keeps its own defaults
 *   (e.g. files runs 3 times by default, sqlite once);
 * - --NAME.OPTION [VALUE] goes to case NAME only, as --OPTION [VALUE]
 *   (e.g. --sqlite.spread recent, --stream.days 3);
 * - with exactly one case selected, an option this runner does not know goes
 *   to that case as it is (npm run bench -- --case sqlite --spread recent);
 * - --corpus NAME is kept from before the runner existed: --files.corpus NAME.
 *
 * Whether a case accepts what it is handed is checked by running it with
 * --check-options before any case starts (run-bench.js).
 */
const { COMMON } = require('./case-options');
const { CASES } = require('./cases');

const NAMES = CASES.map((c) => c.name);

const USAGE = `Usage: npm run bench -- [options]
       node bench/run-bench.js [options]     (without the tsc -b that npm run bench does first)

Runs every benchmark case (or those chosen with --case), each comparing ebm with
restic in the same run, and prints one table of the ratios ebm/restic with each
target met or missed. Each case is a script bench/NAME-bench.js (bench/README.md).

Cases:
${CASES.map((c) => `  ${c.name.padEnd(10)} ${c.about}`).join('\n')}

Options of this runner:
  --case LIST        comma-separated cases to run (also --cases; default: all)
  --list             list the cases and whether their scripts exist, then stop
  --json             after the table, print the combined result as one JSON line
  --NAME.OPT [V]     hand --OPT [V] to case NAME only (e.g. --sqlite.spread recent)
  --corpus NAME      the files case's corpus: mixed (default) or manyfiles (= --files.corpus)
  -h, --help         this text (node bench/NAME-bench.js --help shows a case's own options)

Handed to every case (each case keeps its own default when not given; a case
that cannot use one says so in its report):
  --scale S          data size; 1 = full size (default), 0.02-0.05 for a quick try
  --runs N           repetitions with fresh repositories; medians are reported
                     (default per case: files 3, the others 1)
  --workdir DIR      parent of each case's work directory (default: $TMPDIR or /tmp)
  --keep             keep each case's work directory
  --corpus-dir DIR   keep/reuse the pristine corpora made by make-corpus.sh in DIR
  --only TOOL        run only ebm or only restic (no ratios)

Environment:
  EBM_BENCH_SHARED   folder holding make-corpus.sh, mutate.sh and lib/manifest.py
                     (default: ../shared/bench relative to the repository root)
`;

/** Handed-on common options: everything except what this runner handles itself. */
const HANDED_ON = Object.keys(COMMON).filter((f) => !['--json', '--summary', '--check-options', '--help', '-h'].includes(f));

function parseCaseList(v) {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return NAMES.slice();
  for (const n of names) {
    if (!NAMES.includes(n)) throw new Error(`--case ${n}: no such case; the cases are ${NAMES.join(', ')}`);
  }
  if (names.length === 0) throw new Error('--case needs at least one case name');
  return NAMES.filter((n) => names.includes(n)); // registry order, no duplicates
}

/**
 * @param {string[]} argv  without node and the script
 * @returns {{cases: string[], json: boolean, list: boolean, help: boolean, keep: boolean,
 *            common: string[], perCase: Record<string, string[]>}}
 *   common: arguments for every case; perCase[name]: arguments for that case only
 */
function parseRunOptions(argv) {
  const opts = { cases: NAMES.slice(), json: false, list: false, help: false, keep: false, common: [], perCase: {} };
  const unprefixed = [];
  const hasValue = (i) => argv[i + 1] !== undefined && !argv[i + 1].startsWith('--');
  const valueOf = (i, flag) => {
    if (!hasValue(i)) throw new Error(`${flag} needs a value (see --help)`);
    return argv[i + 1];
  };
  const forCase = (name, args) => (opts.perCase[name] = (opts.perCase[name] || []).concat(args));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const prefixed = /^--([a-z0-9-]+)\.([A-Za-z0-9-]+)$/.exec(a);
    if (a === '--case' || a === '--cases') opts.cases = parseCaseList(valueOf(i++, a));
    else if (a === '--json') opts.json = true;
    else if (a === '--list') opts.list = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else if (a === '--corpus') forCase('files', ['--corpus', valueOf(i++, a)]);
    else if (HANDED_ON.includes(a)) {
      const flag = COMMON[a][1] === 'flag';
      opts.common.push(...(flag ? [a] : [a, valueOf(i++, a)]));
      if (a === '--keep') opts.keep = true;
    } else if (prefixed) {
      if (!NAMES.includes(prefixed[1])) throw new Error(`${a}: no case named ${prefixed[1]}; the cases are ${NAMES.join(', ')}`);
      forCase(prefixed[1], hasValue(i) ? [`--${prefixed[2]}`, argv[++i]] : [`--${prefixed[2]}`]);
    } else if (a.startsWith('-')) {
      unprefixed.push(...(hasValue(i) ? [a, argv[++i]] : [a]));
    } else {
      throw new Error(`unexpected argument ${a} (see --help)`);
    }
  }
  if (unprefixed.length) {
    if (opts.cases.length !== 1) {
      throw new Error(
        `unknown option ${unprefixed[0]}: to hand it to one case, write --CASE.${unprefixed[0].replace(/^-+/, '')} ` +
          `(e.g. --sqlite.spread) or select that case alone with --case (see --help)`,
      );
    }
    forCase(opts.cases[0], unprefixed);
  }
  for (const name of Object.keys(opts.perCase)) {
    if (!opts.cases.includes(name)) throw new Error(`options were given for case ${name}, which is not selected (--case ${opts.cases.join(',')})`);
  }
  return opts;
}

module.exports = { parseRunOptions, USAGE, NAMES };
