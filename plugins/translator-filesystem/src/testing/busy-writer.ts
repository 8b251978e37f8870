import { ChildProcess, spawn } from 'node:child_process';
import type { JsonValue } from '@ebm/sdk';
import { MiB } from './sparse-image';

/** A writer process that keeps changing a block image, and the check that a stored image is one instant of it (block-mode tests). */

export const RING = 32;

/**
 * A real writer process: it cycles over RING blocks (1 MiB apart), writing a
 * counter c into block c mod RING (4 KiB of it, c repeated). At every instant
 * the blocks hold RING consecutive counter values, each in its own slot; an
 * image read while the writer runs ("torn") breaks that almost surely.
 * Prints "started" once every slot was written; writes until killed, or for
 * `forMs` milliseconds and then exits.
 */
export function startWriter(file: string, forMs?: number): Promise<ChildProcess> {
  const script = `
    const fs = require('node:fs');
    const [file, ring, forMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
    const fd = fs.openSync(file, 'r+');
    const page = Buffer.alloc(4096);
    let c = 0;
    const write = () => { for (let i = 0; i < 4096; i += 4) page.writeUInt32LE(c, i); fs.writeSync(fd, page, 0, 4096, (c % ring) * ${MiB}); c++; };
    while (c < ring) write();
    process.stdout.write('started\\n');
    const end = forMs > 0 ? Date.now() + forMs : Infinity;
    while (Date.now() < end) write();
    fs.closeSync(fd);
  `;
  const child = spawn(process.execPath, ['-e', script, file, String(RING), String(forMs ?? 0)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

/** True when the RING slots of `image` hold RING consecutive counter values, each in its slot (an instant's state). */
export function untorn(image: Buffer): boolean {
  const values = Array.from({ length: RING }, (_, slot) => image.readUInt32LE(slot * MiB));
  const top = Math.max(...values);
  return values.every((v, slot) => v % RING === slot && v > top - RING && image.subarray(slot * MiB, slot * MiB + 4096).every((b, i) => b === image[slot * MiB + (i % 4)]));
}

export function blockMode(meta: { readonly [key: string]: JsonValue } | undefined): Record<string, JsonValue> {
  return (meta?.['blockMode'] ?? {}) as Record<string, JsonValue>;
}
