import { EbmError, OptionValue } from '@ebm/sdk';

type Raw = Readonly<Record<string, OptionValue>>;

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
const MIN_CHUNK_SIZE = 16 * 1024;
const MAX_CHUNK_SIZE = 1024 * 1024;

export interface BackupOptions {
  readonly fromCommand: boolean;
  readonly stdin: boolean;
  readonly name?: string;
  readonly contentType?: string;
  readonly allowEmpty: boolean;
  readonly framing: 'none' | 'jsonl-segments';
  readonly appendOnly: boolean;
  readonly chunkSize: number;
}

export interface RestoreOptions {
  readonly toStdout: boolean;
  readonly toCommand?: readonly string[];
  readonly segments?: string;
  readonly timeRange?: string;
  readonly payloadOnly: boolean;
}

/** This translator's backup options (declared in the manifest), with defaults; E_INVALID_OPTION naming a bad one. */
export function parseBackupOptions(raw: Raw): BackupOptions {
  const framing = text(raw, 'framing') ?? 'none';
  if (framing !== 'none' && framing !== 'jsonl-segments') {
    throw invalid('framing', `must be none or jsonl-segments, got ${JSON.stringify(framing)}`);
  }
  const chunkSize = number(raw, 'chunk-size') ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(Math.log2(chunkSize)) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw invalid('chunk-size', `must be a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  const name = text(raw, 'name');
  if (name !== undefined && (name === '' || name.length > 255)) throw invalid('name', 'must be 1 to 255 characters');
  const contentType = text(raw, 'content-type');
  const options: BackupOptions = {
    fromCommand: flag(raw, 'from-command'),
    stdin: flag(raw, 'stdin'),
    allowEmpty: flag(raw, 'allow-empty'),
    framing,
    appendOnly: flag(raw, 'append-only'),
    chunkSize,
    ...(name !== undefined ? { name } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
  };
  if (options.fromCommand && options.stdin) throw new EbmError('E_USAGE', '--from-command and --stdin exclude each other: a stream has one source');
  if (options.appendOnly && (options.fromCommand || options.stdin)) {
    throw new EbmError('E_USAGE', '--append-only needs a file as the source (a log, a journal); a command or standard input has no earlier bytes to compare');
  }
  return options;
}

export function parseRestoreOptions(raw: Raw): RestoreOptions {
  const command = list(raw, 'command');
  const toCommand = flag(raw, 'to-command');
  const toStdout = flag(raw, 'to-stdout');
  if (toCommand && command.length === 0) throw new EbmError('E_USAGE', '--to-command needs the command after --, e.g. ebm restore SNAP --to-command -- psql mydb');
  if (!toCommand && command.length > 0) throw new EbmError('E_USAGE', `a command (${command.join(' ')}) was given without --to-command`);
  if (toCommand && toStdout) throw new EbmError('E_USAGE', '--to-stdout and --to-command exclude each other');
  const segments = text(raw, 'segments');
  const timeRange = text(raw, 'time-range');
  return {
    toStdout,
    payloadOnly: flag(raw, 'payload-only'),
    ...(toCommand ? { toCommand: command } : {}),
    ...(segments !== undefined ? { segments } : {}),
    ...(timeRange !== undefined ? { timeRange } : {}),
  };
}

function invalid(name: string, problem: string): EbmError {
  return new EbmError('E_INVALID_OPTION', `option --${name} ${problem}`, { subject: name });
}

function flag(raw: Raw, name: string): boolean {
  const value = raw[name];
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(name, `must be true or false, got ${JSON.stringify(value)}`);
}

function text(raw: Raw, name: string): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  throw invalid(name, `must be a string, got ${JSON.stringify(value)}`);
}

function number(raw: Raw, name: string): number | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw invalid(name, `must be a number, got ${JSON.stringify(value)}`);
  return n;
}

function list(raw: Raw, name: string): readonly string[] {
  const value = raw[name];
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as readonly string[];
  throw invalid(name, `must be a list of strings, got ${JSON.stringify(value)}`);
}
