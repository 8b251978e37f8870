import { PRIORITY_MAX, PRIORITY_MIN } from '../controller/priority';
import { DURATION_PATTERN } from './duration';

/**
 * The JSON Schema (draft-07, as ajv 8 reads it by default) of the host
 * configuration file. It is the reference of every field: each has a
 * `description`, and `x-hint` words the rule behind a `pattern` for error
 * messages. What a schema cannot say (cron expressions, references between
 * sections, exactly-one-of pairs) is checked in semantic-checks.ts.
 */

type Schema = Readonly<Record<string, unknown>>;

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const NAME_HINT = 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-" (at most 64)';
/** Same rule as a plugin manifest's id (sdk validate-manifest). */
const TRANSLATOR_ID_PATTERN = '^[a-z][a-z0-9-]{0,62}$';
const ENV_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

const absolutePath = (description: string): Schema => ({ type: 'string', pattern: '^/', 'x-hint': 'must be an absolute path (starting with "/")', description });
const duration = (description: string): Schema => ({
  type: 'string',
  pattern: DURATION_PATTERN,
  'x-hint': 'is not a duration (a number and a unit ms, s, m, h or d, e.g. "30s", "5m", "2h", "1h30m")',
  description,
});
const envName = (description: string): Schema => ({ type: 'string', pattern: ENV_PATTERN, 'x-hint': 'is not an environment variable name (letters, digits and "_", not starting with a digit)', description });
const positiveInt = (description: string, maximum?: number): Schema => ({ type: 'integer', minimum: 1, ...(maximum === undefined ? {} : { maximum }), description });
const keepCount = (description: string): Schema => ({ type: 'integer', minimum: -1, description: `${description} -1 = unlimited.` });

const repository: Schema = {
  type: 'object',
  description: 'A repository the host writes to. An encrypted one (the default) needs exactly one of passwordEnv and passwordFile; an unencrypted one neither.',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: absolutePath('Absolute path of the repository directory (created with `ebm init`).'),
    encryption: { enum: ['aes-256-gcm', 'none'], description: 'What the repository is (chosen at `ebm init`): "aes-256-gcm" (default) or "none" (integrity only, no password). The host refuses a repository that differs.' },
    passwordEnv: envName('Name of the environment variable that holds the repository password.'),
    passwordFile: absolutePath('Absolute path of a file whose first line is the repository password.'),
    compressionLevel: { type: 'integer', minimum: 0, maximum: 22, description: 'zstd level for new data: 0 stores uncompressed, 1 (fast) … 22 (small). Default 3.' },
    maxConcurrentIo: positiveInt('Concurrent object reads/writes of the data mover on this repository. Default 4.', 256),
    verify: { type: 'boolean', description: "Re-read and check each backup's data after it is written, in the serial verification lane. Default true." },
    bandwidthLimitKiBps: positiveInt('Upload bandwidth limit of the data mover in KiB/s. Default: unlimited.'),
  },
};

const retention: Schema = {
  type: 'object',
  description: 'Which snapshots of the dataset to keep; applied (forget) after each successful backup. Counts are per host; a policy with no count ≥ 1 and no keepTags keeps everything.',
  additionalProperties: false,
  properties: {
    keepLast: keepCount('Keep the last N snapshots.'),
    keepHourly: keepCount('Keep the last snapshot of each of the last N hours that have one.'),
    keepDaily: keepCount('Keep the last snapshot of each of the last N days that have one.'),
    keepWeekly: keepCount('Keep the last snapshot of each of the last N weeks that have one.'),
    keepMonthly: keepCount('Keep the last snapshot of each of the last N months that have one.'),
    keepYearly: keepCount('Keep the last snapshot of each of the last N years that have one.'),
    keepTags: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Always keep snapshots carrying any of these tags.' },
  },
};

const dataset: Schema = {
  type: 'object',
  description: 'Something to back up: a source read by a translator into a repository, on a schedule.',
  additionalProperties: false,
  required: ['source', 'repository'],
  properties: {
    translator: { type: 'string', pattern: TRANSLATOR_ID_PATTERN, 'x-hint': 'is not a translator id (lowercase a-z, 0-9 and "-", starting with a letter, like "filesystem")', description: 'Id of the translator plugin (see `ebm plugins`). Default "filesystem".' },
    source: { type: 'string', minLength: 1, description: 'What the translator reads. For the filesystem translator an absolute path; other translators define their own form.' },
    repository: { type: 'string', minLength: 1, description: 'Name of the repository (a key of `repositories`) the dataset is backed up to.' },
    schedule: { type: 'string', description: 'Cron expression: 5 fields (minute hour day-of-month month day-of-week), 6 with a leading seconds field, or @hourly/@daily/@weekly/@monthly/@yearly/@weekdays/@weekends. Absent: only on demand.' },
    timezone: { type: 'string', description: 'IANA time zone the schedule is read in, e.g. "UTC" or "Europe/Berlin". Default: the host\'s local zone.' },
    retention,
    options: {
      type: 'object',
      description: 'Translator options by name (those `ebm plugins` lists), e.g. { exclude: ["*.tmp"] }.',
      additionalProperties: { type: ['string', 'number', 'boolean', 'array'], items: { type: 'string' } },
    },
    tags: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, description: 'Tags recorded on every snapshot of the dataset.' },
    compressionLevel: { type: 'integer', minimum: 0, maximum: 22, description: "zstd level for the data this dataset's backups add (0 stores, 1 fast … 22 small). Default: the repository's compressionLevel." },
    priority: { type: 'integer', minimum: PRIORITY_MIN, maximum: PRIORITY_MAX, description: `Queue priority (${PRIORITY_MIN}..${PRIORITY_MAX}, the range the controller accepts for a request): among waiting jobs, higher runs first; equal priorities run oldest first. Default 0.` },
    deadline: duration('A run still going this long after it was requested is stopped and fails with E_DEADLINE_EXCEEDED; it is not retried (a deadline is absolute). Default: no deadline.'),
    retry: {
      type: 'object',
      description: 'How often a failed run is retried when its error is retryable.',
      additionalProperties: false,
      properties: {
        attempts: positiveInt('Attempts in all, 1 = no retry. Default 3.', 100),
        backoff: duration('Delay before the second attempt; doubles with each further attempt. Default 30s.'),
        maxBackoff: duration('Upper bound of the delay between attempts. Default 10m.'),
      },
    },
    verify: { type: 'boolean', description: "Verify after each backup. Default: the repository's `verify`." },
    journal: {
      type: 'object',
      description: 'Keep a change journal of the source directory (fswatch, inotify) while the host runs: an incremental with a gap-free journal stats only the changed paths instead of walking the tree (filesystem translator). See docs/runtime.md "Change journals".',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', description: 'Default true (the section is there to turn it on).' },
        fullScanEvery: { type: 'integer', minimum: 0, maximum: 100000, description: 'Every Nth backup scans the whole tree even with a trusted journal (a safety net); 0 = never. Default 0.' },
        maxPaths: positiveInt('More changed paths than this and the backup scans the whole tree instead. Default 100000.', 10_000_000),
      },
    },
    provider: { type: 'string', pattern: TRANSLATOR_ID_PATTERN, 'x-hint': 'is not a plugin id (lowercase a-z, 0-9 and "-", starting with a letter, like "overlay")', description: 'Id of a layer-provider plugin (e.g. "overlay"): the dataset is a layered endpoint, backed up layer by layer (docs/layers.md). Not together with translator.' },
    layers: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true, description: 'With provider: the layers this dataset backs up, by id or kind (e.g. ["upper"], ["base"]); the others are referenced at their latest snapshot. Default: every layer.' },
    baseSnapshot: { type: 'string', pattern: '^(?:[0-9a-f]{4,64}|latest:[A-Za-z0-9][A-Za-z0-9._-]{0,127})$', 'x-hint': 'is not a snapshot id (or a unique prefix of at least 4 hex digits) or latest:DATASET', description: 'With provider and a layer map: the base image is this earlier snapshot (an id, a unique prefix, or latest:DATASET such as latest:golden), referenced instead of read; each layer stores only its changes from it (docs/layers.md).' },
    endpoint: { type: 'string', pattern: NAME_PATTERN, 'x-hint': NAME_HINT, description: 'With provider: the endpoint\'s name, under which its snapshots and its layers\' incrementals are filed; datasets that back up different layers of one endpoint share it. Default: the dataset\'s name.' },
  },
};

export const HOST_CONFIG_SCHEMA: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://ebm.invalid/schemas/host-config.json',
  title: 'ebm host configuration (ebm serve --config FILE)',
  type: 'object',
  additionalProperties: false,
  required: ['repositories', 'datasets'],
  properties: {
    $schema: { type: 'string', description: 'Ignored; lets editors find this schema.' },
    repositories: { type: 'object', description: 'Repositories by name.', propertyNames: { pattern: NAME_PATTERN, 'x-hint': NAME_HINT }, additionalProperties: repository },
    datasets: { type: 'object', description: 'Datasets by name; the name is recorded in each snapshot and used in the API (/api/v1/datasets/{name}/backup).', propertyNames: { pattern: NAME_PATTERN, 'x-hint': NAME_HINT }, additionalProperties: dataset },
    budgets: {
      type: 'object',
      description: 'What all running jobs together may use; the queue admits a job only when its cost fits.',
      additionalProperties: false,
      properties: {
        workers: positiveInt('Worker threads. Default 2.', 1024),
        memoryMiB: positiveInt('Memory in MiB. Default 1024.'),
        ioStreamsPerRepository: positiveInt('Concurrent I/O streams per repository. Default 2.', 1024),
      },
    },
    api: {
      type: 'object',
      description: 'The HTTP API (bearer-token authentication on every request).',
      additionalProperties: false,
      properties: {
        listen: { type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):\\d{1,5}$', 'x-hint': 'is not an address (HOST:PORT, e.g. "127.0.0.1:8950" or "[::1]:8950")', description: 'HOST:PORT to listen on. Default 127.0.0.1:8950. `ebm serve --listen` overrides it.' },
        tokenEnv: envName('Environment variable holding the bearer token. Default EBM_API_TOKEN.'),
        tokenFile: absolutePath('File whose first line is the bearer token (instead of tokenEnv).'),
      },
    },
    state: {
      type: 'object',
      description: "The host's own state: catalog, job journal, scheduler state.",
      additionalProperties: false,
      properties: { dir: absolutePath('Directory of the state files. Default /var/lib/ebm as root, else $XDG_STATE_HOME/ebm (~/.local/state/ebm).') },
    },
    log: {
      type: 'object',
      description: 'Structured logs (one JSON object per line).',
      additionalProperties: false,
      properties: {
        level: { enum: ['debug', 'info', 'warn', 'error'], description: 'Lowest level written. Default info.' },
        file: absolutePath('Append logs to this file. Default: stderr.'),
      },
    },
    plugins: {
      type: 'object',
      description: 'The plugin host.',
      additionalProperties: false,
      properties: {
        paths: { type: 'array', items: absolutePath('A directory of plugin packages.'), description: 'Extra directories searched for plugin packages (like EBM_PLUGIN_PATH).' },
        idleTimeout: duration('A plugin is unloaded after this long without jobs. Default 30s.'),
        stallTimeout: duration('A job fails (E_PLUGIN_TIMEOUT) when its plugin sends nothing for this long. Default 2m.'),
        cancelGrace: duration('After a cancel, how long a plugin has to stop before its worker is terminated. Default 5s.'),
        heapMiB: { type: 'object', description: 'Heap limit overrides in MiB by plugin id.', additionalProperties: positiveInt('Heap limit in MiB.') },
        workerGcFloorMiB: { type: 'integer', minimum: 0, maximum: 65_536, description: 'How far a plugin worker\'s old generation grows before V8 collects it in full; fewer full collections for workers that stream data, at the cost of up to this much more memory per worker. 0 keeps V8\'s default (the default): a restore-heavy host may set 64.' },
      },
    },
    shutdown: {
      type: 'object',
      description: 'SIGTERM handling.',
      additionalProperties: false,
      properties: { grace: duration('Running jobs get this long to finish before they are cancelled. Default 30s.') },
    },
  },
};
