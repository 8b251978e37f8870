import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebmOk, summaryOf, tempDir } from '../helpers/cli';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Deterministic non-zero bytes (xorshift32). */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}

function writeAt(file: string, writes: readonly (readonly [number, Buffer])[]): void {
  const fd = fs.openSync(file, 'r+');
  for (const [offset, data] of writes) fs.writeSync(fd, data, 0, data.length, offset);
  fs.closeSync(fd);
}

/**
 * SHA-256 of a sparse file's bytes, by python3 (independent of ebm): the size,
 * then each non-zero 4 KiB page of the data extents with its offset. Holes
 * read as zeros, so equal digests mean equal bytes — without reading GiBs of holes.
 */
function sparseDigest(file: string): string {
  const script = [
    'import hashlib, os, sys',
    'fd = os.open(sys.argv[1], os.O_RDONLY); size = os.fstat(fd).st_size',
    'h = hashlib.sha256(str(size).encode()); pos = 0',
    'while pos < size:',
    '    try: data = os.lseek(fd, pos, os.SEEK_DATA)',
    '    except OSError: break',
    '    hole = min(os.lseek(fd, data, os.SEEK_HOLE), size); page = data - data % 4096',
    '    while page < hole:',
    '        b = os.pread(fd, 4096, page)',
    "        if b.strip(b'\\0'): h.update(page.to_bytes(8, 'little')); h.update(b)",
    '        page += 4096',
    '    pos = hole',
    'print(h.hexdigest())',
  ].join('\n');
  return execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }).trim();
}

const allocated = (file: string): number => fs.statSync(file).blocks * 512;

/**
 * Block mode through the real CLI: a 4 GiB sparse VM-style image (48 MiB of
 * data) backed up with --block-mode, 1 % of its blocks changed, backed up
 * again; both snapshots restore byte-identical and sparse, `check
 * --read-data` passes, and export/import keeps the image sparse.
 */
describe('ebm backup --block-mode', () => {
  let work: string;
  let repo: string;
  let source: string;
  let image: string;
  const digests: string[] = [];
  const snapshots: string[] = [];

  beforeAll(async () => {
    work = tempDir('block-mode');
    repo = path.join(work, 'repo');
    source = path.join(work, 'vms');
    fs.mkdirSync(source);
    image = path.join(source, 'guest.img');
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 4 * GiB);
    writeAt(image, Array.from({ length: 12 }, (_, k) => [k * 320 * MiB, pattern(4 * MiB, k + 1)] as const));
    fs.writeFileSync(path.join(source, 'small.img'), pattern(64 * 1024, 99)); // below the minimum size: an ordinary file
    await ebmOk(['init', '-r', repo], { env: { EBM_TEST_FAST_KDF: '1' } });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const backup = async (): Promise<Record<string, unknown>> => {
    const run = await ebmOk(['backup', '-r', repo, source, '--block-mode', '*.img,*.qcow2,*.vhd', '--block-mode-min-size', '64MiB', '--json']);
    const summary = summaryOf(run);
    snapshots.push(summary.snapshot as string);
    digests.push(sparseDigest(image));
    return summary;
  };

  it('stores the data only, then about 1 % of the image when 1 % of its blocks change', async () => {
    const first = await backup();
    expect(first).toMatchObject({ warnings: [], bytesRead: 48 * MiB + 64 * 1024 });
    expect(first.bytesAdded as number).toBeLessThan(50 * MiB);

    // 41 of 4096 blocks: 29 data blocks get a 4 KiB write, 12 hole blocks get 1 MiB of data.
    writeAt(image, [
      ...Array.from({ length: 29 }, (_, i) => [(i % 12) * 320 * MiB + Math.floor(i / 12) * MiB + 8192, pattern(4096, 500 + i)] as const),
      ...Array.from({ length: 12 }, (_, k) => [k * 320 * MiB + 100 * MiB, pattern(MiB, 700 + k)] as const),
    ]);
    const second = await backup();
    // The summary's bytesRead counts what went to the store: the 41 changed blocks (unchanged ones are only hashed).
    expect(second).toMatchObject({ warnings: [], bytesRead: 41 * MiB });
    expect(second.bytesAdded as number).toBeGreaterThanOrEqual(12 * MiB);
    expect((second.bytesAdded as number) / (4 * GiB)).toBeLessThan(0.0101);

    const listed = (await ebmOk(['snapshots', '-r', repo, '--json'])).lines.filter((l) => l.type === 'result');
    const meta = (listed.at(-1)!.snapshot as { meta: { blockMode: Record<string, unknown> } }).meta.blockMode;
    expect(meta).toMatchObject({ bytesRead: 60 * MiB, blocksRead: 60, blocksStored: 41, blocksReused: 48 - 29, holesUnread: 4096 - 60, extents: ['seek-data'] });
    const check = await ebmOk(['check', '-r', repo, '--read-data', '--json']);
    expect(check.code).toBe(0);
  });

  it('restores each snapshot of the chain byte-identical, at full length and sparse', async () => {
    for (const [i, snapshot] of snapshots.entries()) {
      const target = path.join(work, `restore-${i}`);
      await ebmOk(['restore', '-r', repo, snapshot, '--target', target]);
      const restored = path.join(target, 'guest.img');
      expect(fs.statSync(restored).size).toBe(4 * GiB);
      expect(sparseDigest(restored)).toBe(digests[i]);
      expect(allocated(restored)).toBeLessThanOrEqual(allocated(image));
      expect(allocated(restored)).toBeGreaterThanOrEqual((i === 0 ? 48 : 60) * MiB);
      expect(fs.readFileSync(path.join(target, 'small.img'))).toEqual(pattern(64 * 1024, 99));
      fs.rmSync(target, { recursive: true, force: true });
    }
  });

  it('export and import keep the block-mode file sparse', async () => {
    const file = path.join(work, 'image.ebmx');
    await ebmOk(['export', '-r', repo, 'latest', '-o', file]);
    expect(fs.statSync(file).size).toBeLessThan(70 * MiB);
    const target = path.join(work, 'imported');
    await ebmOk(['import', file, '--target', target], { env: { EBM_PASSWORD: undefined } });
    const imported = path.join(target, 'guest.img');
    expect(fs.statSync(imported).size).toBe(4 * GiB);
    expect(sparseDigest(imported)).toBe(digests.at(-1));
    expect(allocated(imported)).toBeLessThanOrEqual(allocated(image));
  });
});
