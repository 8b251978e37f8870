/**
 * The one error catalogue of ebm. Every error that an operator, a vendor or a
 * program can see carries one of these stable codes. Codes are never reused or
 * renamed; a new failure gets a new code. `docs/errors.md` documents each one
 * (a test checks that every code here is documented there).
 *
 * `exitCode` is what the `ebm` CLI exits with when a command fails with the code.
 * `retryable` says whether running the same operation again may succeed
 * without anyone changing anything (a job queue uses it for its retry policy).
 */
export interface ErrorSpec {
  readonly summary: string;
  /** What the operator should do about it. */
  readonly hint: string;
  readonly retryable: boolean;
  readonly exitCode: number;
}

function spec(summary: string, hint: string, retryable = false, exitCode = 1): ErrorSpec {
  return { summary, hint, retryable, exitCode };
}

export const ERROR_CATALOGUE = {
  // --- usage and configuration
  E_USAGE: spec('invalid command-line usage or option value', 'see `ebm help <command>`', false, 2),
  E_NO_REPOSITORY_GIVEN: spec('no repository was named', 'pass -r/--repo DIR or set EBM_REPOSITORY', false, 2),
  E_CONFIG: spec('the host configuration file is invalid', 'fix each problem listed (file:line:column and the field path); docs/runtime.md describes every field', false, 2),
  E_INVALID_REQUEST: spec('a job request is invalid', 'fix the field named in the message; docs/runtime.md describes requests', false, 2),
  E_NO_PASSWORD: spec('no password was given and there is no terminal to ask on', 'set EBM_PASSWORD or pass --password-file FILE', false, 2),
  // --- repository access
  E_NOT_A_REPOSITORY: spec('the path is not an ebm repository', 'check -r/--repo, or create one with `ebm init`', false, 10),
  E_REPOSITORY_EXISTS: spec('a repository (or other files) already exists at the path', 'choose an empty or new directory'),
  E_UNSUPPORTED_FORMAT: spec('the repository uses a format version this ebm does not understand', 'upgrade ebm to a version that supports this repository format', false, 10),
  E_WRONG_PASSWORD: spec('no key file of the repository opens with this password', 'check EBM_PASSWORD / --password-file; `ebm key list` shows the key files', false, 12),
  E_REPOSITORY_LOCKED: spec('the repository is locked by another process', 'wait for it to finish; if it died, `ebm unlock` removes stale locks', true, 11),
  E_KEY_NOT_FOUND: spec('no key file with that id', 'see `ebm key list`'),
  E_LAST_KEY: spec('refusing to remove the last key file of the repository (or the one in use)', 'add another key first, and open the repository with it'),
  E_SNAPSHOT_NOT_FOUND: spec('no snapshot matches that id or prefix', 'see `ebm snapshots`'),
  E_AMBIGUOUS_ID: spec('the id prefix matches more than one object', 'give more characters of the id'),
  E_PATH_NOT_IN_SNAPSHOT: spec('the path does not exist in the snapshot', 'see `ebm ls <snapshot>`'),
  E_SNAPSHOT_IN_USE: spec('the snapshot is a layer of an endpoint snapshot (ebm backup --provider) and cannot be removed alone', 'forget the endpoint snapshots named in the message first (or in the same command); base layers are shared by every endpoint built on them'),
  // --- integrity
  E_CORRUPT_OBJECT: spec('a repository file or blob failed its integrity check', 'run `ebm check --read-data` to see what is damaged; restore the file from a copy if you have one'),
  E_BLOB_NOT_FOUND: spec('a blob referenced by a tree or snapshot is missing from the index', 'run `ebm check`; the repository is damaged or was pruned concurrently'),
  E_CHECK_FAILED: spec('the repository check found errors', 'read the report; damaged snapshots can be forgotten and the repository pruned'),
  // --- storage
  E_STORAGE_IO: spec('the storage backend failed to read or write', 'check the storage location is reachable and writable', true),
  E_DISK_FULL: spec('the storage location is out of space', 'free space (e.g. `ebm forget --prune`) and run the backup again'),
  E_STORAGE_NOT_FOUND: spec('the storage backend has no such file', 'the repository is incomplete; run `ebm check`'),
  // --- sources and targets
  E_SOURCE_NOT_FOUND: spec('the backup source does not exist', 'check the path given to `ebm backup`'),
  E_PERMISSION: spec('permission denied', 'run as a user that can read the source (or write the target)'),
  E_SOURCE_CHANGED: spec('the source changed while it was being read', 'back up again, or from a filesystem snapshot', true),
  E_TARGET_NOT_EMPTY: spec('the restore target is not empty', 'choose an empty directory or pass --overwrite'),
  E_UNSAFE_PATH: spec('an entry path would escape the restore target', 'the snapshot is damaged or hostile; nothing outside the target was written'),
  E_INVALID_SOURCE: spec('the source is not in a format the translator accepts', 'check that the right --translator is used for this source'),
  // --- plugins
  E_PLUGIN_NOT_FOUND: spec('no installed plugin has that id', 'see `ebm plugins` for the installed ones'),
  E_PLUGIN_MANIFEST: spec('the plugin manifest (the "ebm" field of its package.json) is invalid', 'fix the manifest; docs/plugins.md lists its fields'),
  E_PLUGIN_API_MISMATCH: spec("the plugin's supported plugin-API range does not include this host's API version", 'install a plugin version built for this ebm, or an ebm that supports the plugin'),
  E_PLUGIN_LOAD: spec('the plugin module could not be loaded', 'the plugin package is broken or was built for another Node.js'),
  E_PLUGIN_FAILED: spec('the plugin threw an error', 'see the cause; report it to the plugin vendor if it is a bug'),
  E_PLUGIN_CRASHED: spec('the plugin worker died', 'report it to the plugin vendor', true),
  E_PLUGIN_TIMEOUT: spec('the plugin stopped answering', 'raise the stall timeout if the source is just slow; otherwise report it to the plugin vendor', true),
  E_PLUGIN_OUT_OF_MEMORY: spec('the plugin worker ran out of memory', "raise the plugin's memory limit, or report it to the plugin vendor", true),
  E_PROTOCOL: spec('a message between host and plugin broke the protocol', 'report it to the plugin vendor (or ebm, if the plugin is first-party)'),
  E_NOT_SUPPORTED: spec('the plugin does not support this operation', 'see `ebm plugins`: e.g. only some translators implement discovery'),
  E_INVALID_OPTION: spec('an option passed to the plugin is invalid', "see `ebm plugins` for the plugin's options"),
  // --- jobs and the host process
  E_CATALOG_CORRUPT: spec('the catalog database on this host was unreadable or damaged', 'nothing to do: it was moved aside to <file>.corrupt-<time> and rebuilt from the repository; delete that file when no longer needed'),
  E_JOB_NOT_FOUND: spec('no job with that id', 'see `ebm jobs` or GET /api/v1/jobs'),
  E_DATASET_NOT_FOUND: spec('no dataset with that name in the host configuration', 'see the datasets of GET /api/v1/status or the configuration file'),
  E_DISCOVERY_NOT_FOUND: spec('no discovery of that source is recorded in the catalog', 'run `ebm discover SOURCE -r REPO` first, or list them: `ebm catalog discoveries`, GET /api/v1/discoveries'),
  E_LAYER_NOT_FOUND: spec('the discovered source has no layer with that id', 'use a layer id of the discovery (GET /api/v1/discoveries lists them)'),
  E_UNAUTHORIZED: spec('the HTTP API request has no valid bearer token', 'send Authorization: Bearer <token> (the token from EBM_API_TOKEN, api.tokenEnv or api.tokenFile)', false, 2),
  E_JOB_REJECTED: spec('the queue refused the job: it can never fit the budgets, or the queue is full', 'raise budgets.* or the plugin memory settings, or try again later'),
  E_INTERRUPTED: spec('the host stopped while the job ran', 'run the job again; the repository is valid and prune reclaims the interrupted job\'s data', true),
  E_HOST_SHUTTING_DOWN: spec('the host process is shutting down and admits no new work', 'send the request again once the host has restarted', true),
  E_DEADLINE_EXCEEDED: spec('the job ran past its deadline and was stopped; it is not retried (a deadline is an absolute time)', 'give the job a later deadline (datasets.<name>.deadline, or the request\'s deadline), or find out why it took so long (a hung translator, a slow source); no snapshot was recorded'),
  E_CANCELLED: spec('the operation was cancelled', 'run it again when you want it to complete', false, 130),
  E_INTERNAL: spec('an internal error in ebm', 'please report it with the output of the command'),
  // --- application sources and targets (translators)
  E_SOURCE_BUSY: spec('the source is locked by another process for longer than the configured wait', 'wait for the long write (or exclusive lock) to end and back up again, or raise the wait (e.g. --busy-timeout for SQLite)', true),
  E_SOURCE_CORRUPT: spec('the source is damaged: it failed the application\'s own integrity check', "repair it with the application's own tools (for SQLite: PRAGMA integrity_check, then .recover) and back up again; the damaged data was not stored"),
  E_TARGET_IN_USE: spec('the restore target is open in another process', 'stop the application that uses it (or restore to another path) and restore again', true),
  // --- streams (translator-stream)
  E_PRODUCER_FAILED: spec('the command (or pipe) that produced a stream failed: it exited non-zero, was killed by a signal, or produced no bytes', 'read the exit status and the end of its standard error in the message, fix the producer and back up again; no snapshot was recorded (pass --allow-empty if an empty stream is valid)'),
  E_CONSUMER_FAILED: spec('the command a stream was restored into failed: it exited non-zero, was killed by a signal, or stopped reading early', 'read the exit status and the end of its standard error in the message; the consumer may hold a partial restore'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, value);
}
