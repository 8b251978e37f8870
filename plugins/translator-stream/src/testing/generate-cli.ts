#!/usr/bin/env node
/**
 * A deterministic producer for tests and benchmarks, run as a real command:
 *
 *   node generate-cli.js dump     --seed S --bytes N [--day D] [--fraction F]   SQL-dump-like text, day D of a database changing F a day
 *   node generate-cli.js random   --seed S --bytes N                            incompressible bytes
 *   node generate-cli.js segments --seed S --count N [--bytes B]                jsonl-segments frames with start/end seconds
 *
 * and, to play a failing producer, `--fail-after BYTES --exit CODE` (exit
 * with CODE after writing BYTES) or `--kill-after BYTES --signal SIG` (kill
 * itself with SIG). Standard output is written with backpressure.
 */
import { createDumpModel, frameSegment, mutateDumpModel, randomBytesOf, renderDump } from './dump-fixture';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`missing --${name}`);
  return value;
}

function* pieces(kind: string): Generator<Buffer> {
  const seed = Number(arg('seed', '1'));
  if (kind === 'dump') {
    let model = createDumpModel(seed, Number(arg('bytes')));
    const fraction = Number(arg('fraction', '0.01'));
    for (let d = Number(arg('day', '0')); d > 0; d--) model = mutateDumpModel(model, fraction);
    yield* renderDump(model);
  } else if (kind === 'random') {
    yield* randomBytesOf(seed, Number(arg('bytes')));
  } else if (kind === 'segments') {
    const count = Number(arg('count'));
    const bytes = Number(arg('bytes', '1000'));
    for (let i = 0; i < count; i++) {
      const payload = Buffer.concat([...randomBytesOf(seed * 1000 + i, bytes)]);
      yield frameSegment({ name: `seg-${i}`, start: i * 10, end: i * 10 + 10 }, payload);
    }
  } else {
    throw new Error(`unknown kind ${kind}: dump, random or segments`);
  }
}

async function main(): Promise<void> {
  const failAfter = process.argv.includes('--fail-after') ? Number(arg('fail-after')) : undefined;
  const killAfter = process.argv.includes('--kill-after') ? Number(arg('kill-after')) : undefined;
  const stopAt = failAfter ?? killAfter;
  let written = 0;
  for (const piece of pieces(process.argv[2] ?? '')) {
    const part = stopAt !== undefined ? piece.subarray(0, Math.max(0, stopAt - written)) : piece;
    if (part.length > 0 && !process.stdout.write(part)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    written += part.length;
    if (stopAt !== undefined && written >= stopAt) break;
  }
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  if (failAfter !== undefined) {
    process.stderr.write(`generate-cli: failing on purpose after ${written} bytes\n`);
    process.exit(Number(arg('exit', '1')));
  }
  if (killAfter !== undefined) process.kill(process.pid, arg('signal', 'SIGKILL') as NodeJS.Signals);
}

main().catch((err: unknown) => {
  process.stderr.write(`generate-cli: ${(err as Error).message}\n`);
  process.exit(2);
});
