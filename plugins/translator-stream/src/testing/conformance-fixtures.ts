import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { InvalidSource, SourceEquality, TranslatorFixture } from '@ebm/sdk/testing';
import { createDumpModel, dumpBytes, frameSegment, randomBytesOf } from './dump-fixture';
import { GENERATOR } from './harness';

/**
 * Fixtures of the stream translator for the SDK's conformance harness
 * (TranslatorTester): sources a stream plugin is given — a regular file read
 * as a stream, a real producer command, an append-only log, a framed
 * jsonl-segments stream — and sources it must refuse with a typed error.
 * Every fixture builds the same bytes each time (seeded generators), and
 * `streamEquality` checks a restore the way an operator would: the target
 * holds exactly one file, named as the stream, whose bytes are the source's.
 */

/** argv of the test producer (generate-cli.js), as `ebm backup --from-command --` passes it: a JSON array. */
export function producer(...args: string[]): string {
  return JSON.stringify([process.execPath, GENERATOR, ...args]);
}

/** Log lines with timestamps and request ids, `count` of them from line `from`. */
export function logLines(from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += `2024-05-01T12:${String(i % 60).padStart(2, '0')}:00Z host app[${i}]: request ${i * 7919} served in ${i % 97} ms\n`;
  return text;
}

/** Segments i ∈ [from, from + count) of a framed stream: a JSON header line with start/end seconds, then the payload. */
export function segments(from: number, count: number, bytes: number): Buffer {
  const out: Buffer[] = [];
  for (let i = from; i < from + count; i++) out.push(frameSegment({ name: `batch-${i}`, start: i * 60, end: i * 60 + 60 }, Buffer.concat([...randomBytesOf(700 + i, bytes)])));
  return Buffer.concat(out);
}

const DUMP_BYTES = 400_000;

/** A regular file backed up as a stream (read to its end; restored as target/<its name>). */
export const regularFile: TranslatorFixture = {
  name: 'regular file',
  async build(dir) {
    const file = path.join(dir, 'shop.sql');
    await fsp.writeFile(file, dumpBytes(createDumpModel(11, DUMP_BYTES)));
    return file;
  },
};

/**
 * A real producer command run without a shell: generate-cli.js writing a
 * SQL dump to its standard output. No mutation: a command's stream is read
 * whole every time (only --append-only files read less), so the harness's
 * incremental case, which requires a declared 'incremental' plugin to
 * consult its parent for every mutation, does not apply (docs/plugins.md,
 * translator-stream, "Under the conformance harness").
 */
export const command: TranslatorFixture = {
  name: 'command (a generated SQL dump)',
  options: { 'from-command': true, name: 'dump.sql', 'content-type': 'application/sql' },
  build: () => producer('dump', '--seed', '12', '--bytes', String(DUMP_BYTES)),
};

/** An append-only log: appending must store and read less; a rotation is a new baseline. */
export const appendOnlyLog: TranslatorFixture = {
  name: 'append-only log',
  options: { 'append-only': true },
  async build(dir) {
    const file = path.join(dir, 'app.log');
    await fsp.writeFile(file, logLines(0, 4000));
    return file;
  },
  mutations: [
    { name: 'append lines', apply: (source) => fsp.appendFile(source, logLines(4000, 500)) },
    {
      // The old file moves away and a new, longer one takes its name: nothing to continue, nothing to reuse.
      name: 'rotate (a new, longer file)',
      storesLess: false,
      readsLess: false,
      apply: async (source) => {
        await fsp.rename(source, `${source}.1`);
        await fsp.writeFile(source, logLines(100_000, 6000));
      },
    },
  ],
};

/** A framed stream (jsonl-segments) in an append-only file: each segment is stored as its own record. */
export const framedSegments: TranslatorFixture = {
  name: 'jsonl-segments, append-only',
  options: { framing: 'jsonl-segments', 'append-only': true },
  async build(dir) {
    const file = path.join(dir, 'events.jsonl');
    await fsp.writeFile(file, segments(0, 12, 20_000));
    return file;
  },
  mutations: [{ name: 'append segments', apply: (source) => fsp.appendFile(source, segments(12, 3, 20_000)) }],
};

/** The same framing, from a producer command. */
export const framedCommand: TranslatorFixture = {
  name: 'jsonl-segments from a command',
  options: { 'from-command': true, framing: 'jsonl-segments', name: 'segments.jsonl' },
  build: () => producer('segments', '--seed', '9', '--count', '10', '--bytes', '30000'),
};

export const FIXTURES: readonly TranslatorFixture[] = [regularFile, command, appendOnlyLog, framedSegments, framedCommand];

/** The stream's name, as the translator names it: --name, or the source file's name. */
function streamName(fixture: string, source: string): string {
  const f = FIXTURES.find((x) => x.name === fixture);
  const name = f?.options?.name;
  return typeof name === 'string' ? name : path.basename(source);
}

/** The source's bytes: the file's, or what the command writes (it is deterministic). */
async function sourceBytes(source: string): Promise<Buffer> {
  if (!source.startsWith('[')) return fsp.readFile(source);
  const argv = JSON.parse(source) as string[];
  return execFileSync(argv[0]!, argv.slice(1), { maxBuffer: 64 * 1024 * 1024 });
}

/** A restore equals its source when the target holds one file, named as the stream, with the source's bytes. */
export const streamEquality: SourceEquality = async (expected, target) => {
  const name = streamName(expected.fixture, expected.source);
  const found = await fsp.readdir(target);
  const diffs = found.filter((n) => n !== name).map((n) => `${n}: restored, but the stream is ${name} alone`);
  if (!found.includes(name)) return [...diffs, `${name}: missing from the restore`];
  const [want, got] = [await sourceBytes(expected.source), await fsp.readFile(path.join(target, name))];
  if (want.length !== got.length) diffs.push(`${name}: ${got.length} bytes restored, the source has ${want.length}`);
  else if (!want.equals(got)) diffs.push(`${name}: content differs (same size, ${want.length} bytes)`);
  return diffs;
};

/** Sources a stream plugin must refuse, each with the code that says why. */
export const INVALID_SOURCES: readonly InvalidSource[] = [
  { name: 'a missing file', expect: 'E_SOURCE_NOT_FOUND', build: (dir) => path.join(dir, 'no-such.log') },
  { name: 'a directory', expect: 'E_INVALID_SOURCE', build: (dir) => dir },
  {
    name: 'an empty file (no --allow-empty)',
    expect: 'E_PRODUCER_FAILED',
    build: async (dir) => {
      await fsp.writeFile(path.join(dir, 'empty.log'), '');
      return path.join(dir, 'empty.log');
    },
  },
  { name: 'a command that is not found', expect: 'E_SOURCE_NOT_FOUND', options: { 'from-command': true }, build: () => JSON.stringify(['ebm-no-such-command-0d5c']) },
  {
    name: 'a command that exits 3 after writing 100 kB',
    expect: 'E_PRODUCER_FAILED',
    options: { 'from-command': true },
    build: () => producer('random', '--seed', '1', '--bytes', '300000', '--fail-after', '100000', '--exit', '3'),
  },
  {
    name: 'a command killed by SIGKILL after 50 kB',
    expect: 'E_PRODUCER_FAILED',
    options: { 'from-command': true },
    build: () => producer('random', '--seed', '1', '--bytes', '300000', '--kill-after', '50000', '--signal', 'SIGKILL'),
  },
  { name: 'a command that writes nothing and exits 0', expect: 'E_PRODUCER_FAILED', options: { 'from-command': true }, build: () => JSON.stringify([process.execPath, '-e', '']) },
  {
    name: 'a framed stream that ends inside a segment',
    expect: 'E_INVALID_SOURCE',
    options: { framing: 'jsonl-segments' },
    build: async (dir) => {
      const whole = segments(0, 3, 1000);
      await fsp.writeFile(path.join(dir, 'cut.jsonl'), whole.subarray(0, whole.length - 10));
      return path.join(dir, 'cut.jsonl');
    },
  },
  {
    name: 'a framed stream whose header has no length',
    expect: 'E_INVALID_SOURCE',
    options: { framing: 'jsonl-segments' },
    build: async (dir) => {
      await fsp.writeFile(path.join(dir, 'bad.jsonl'), '{"start": 1}\npayload\n');
      return path.join(dir, 'bad.jsonl');
    },
  },
];
