import { promises as fsp } from 'node:fs';

/** Whether two files hold the same bytes (compared block by block; stops at the first difference). */
export async function sameContent(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([fsp.open(a, 'r'), fsp.open(b, 'r')]);
  try {
    const ba = Buffer.alloc(1 << 16);
    const bb = Buffer.alloc(1 << 16);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length, null), fb.read(bb, 0, bb.length, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
