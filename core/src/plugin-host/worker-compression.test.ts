import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CHUNKER_SIZES } from '@ebm/sdk';
import type { BackupJobSpec, BlobCodec, BlobKind } from '@ebm/sdk';
import { HostEvents } from '../events/host-events';
import { MemoryBlobServer } from './memory-blob-server';
import { PluginHost } from './plugin-host';
import { PluginRegistry } from './plugin-registry';

/**
 * Who compresses a blob: the worker does while the host is behind (shipped
 * blobs it has not acknowledged hold more than a quarter of the window), and says so — codec 1 for a zstd frame,
 * codec 2 for plaintext its encoder found not worth compressing, which the
 * host then stores as is instead of compressing it a second time. Real
 * filesystem translator in a real worker; the host side is a memory blob
 * server that re-hashes every blob (so a codec-2 body must be the plaintext)
 * and acknowledges slowly, to keep the window full.
 */
describe('worker-side compression', () => {
  const registry = PluginRegistry.discover({ dirs: [path.resolve(__dirname, '../../../plugins/translator-filesystem')], pluginPath: '', searchNodeModules: false });
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-worker-compression-'));
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(dir, `random-${i}.bin`), randomBytes(2 << 20));
      fs.writeFileSync(path.join(dir, `text-${i}.txt`), `line ${i} of a text that compresses well\n`.repeat(50_000));
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /**
   * Also the regression test of a deadlock this slow host exposed (about one
   * run in ten on a loaded machine): a blob let into a full window ahead of a
   * queued producer sat in an unsent query batch, so nothing could ever free
   * the room that producer waited for (BlobShipper now sends such a batch at
   * once). Several rounds, with a short stall timeout so a hang fails as
   * E_PLUGIN_TIMEOUT instead of running into jest's timeout; every other
   * round with a window of one blob (the deadlock's setting), the others with
   * the CLI's 4 MiB, which leaves room for a queue at the host (the worker
   * compresses only while there is one).
   */
  it('sends incompressible blobs it tried as codec 2 (plaintext) and compressible ones as codec 1; every blob verifies', async () => {
    const seen = new Map<BlobCodec, number>();
    const host = new PluginHost({ maxThreads: 1, stallTimeoutMs: 8_000 }, new HostEvents());
    try {
      for (let round = 0; round < 4; round++) {
        const idKey = randomBytes(32);
        const memory = new MemoryBlobServer(idKey);
        const slowHost = {
          missing: (ids: readonly string[]) => memory.missing(ids),
          loadTree: (id: string) => memory.loadTree(id),
          loadBlob: (id: string) => memory.loadBlob(id),
          async put(kind: BlobKind, id: string, data: Uint8Array, codec: BlobCodec = 0): Promise<void> {
            if (kind === 'data') seen.set(codec, (seen.get(codec) ?? 0) + 1);
            await new Promise((r) => setTimeout(r, 15));
            await memory.put(kind, id, data, codec); // re-hashes: decompresses codec 1, takes codec 0 and 2 as the plaintext
          },
        };
        const job: BackupJobSpec = {
          op: 'backup',
          source: dir,
          options: {},
          addressing: { idKey, chunker: { algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES, gearKey: randomBytes(32) } },
          windowBytes: round % 2 === 0 ? 1 << 20 : 4 << 20,
          compression: { algorithm: 'zstd', level: 3 },
        };
        const result = await host.run(registry.get('filesystem'), job, slowHost, { jobId: `compression-${round}` });
        expect(result).toMatchObject({ op: 'backup', stats: { files: 6 } });
      }
    } finally {
      await host.close();
    }
    expect(seen.get(1)).toBeGreaterThan(0);
    expect(seen.get(2)).toBeGreaterThan(0);
  });
});
