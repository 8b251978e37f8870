/**
 * SHA-256 (FIPS 180-4) whose intermediate state can be saved and resumed.
 *
 * Why not node:crypto: an append-only incremental reads only the appended
 * bytes, yet the snapshot must carry the SHA-256 of the whole stream.
 * OpenSSL's hash state cannot be exported, so the state after the previous
 * snapshot's last byte is kept in its metadata (`exportState`) and the next
 * backup continues from it. Only append-only backups use this; everything
 * else uses node:crypto.
 *
 * State text: `sha256-state-v1:<8 words hex>:<bytes hashed>:<pending bytes base64>`.
 */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const STATE_PREFIX = 'sha256-state-v1';

export class ResumableSha256 {
  readonly #h = new Int32Array(INITIAL);
  readonly #w = new Int32Array(64);
  readonly #block = new Uint8Array(64);
  #pending = 0;
  #bytes = 0;

  /** Bytes hashed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  update(data: Uint8Array): this {
    let at = 0;
    this.#bytes += data.length;
    if (this.#pending > 0) {
      const take = Math.min(64 - this.#pending, data.length);
      this.#block.set(data.subarray(0, take), this.#pending);
      this.#pending += take;
      at = take;
      if (this.#pending < 64) return this;
      this.#compress(this.#block, 0);
      this.#pending = 0;
    }
    for (; at + 64 <= data.length; at += 64) this.#compress(data, at);
    if (at < data.length) {
      this.#block.set(data.subarray(at), 0);
      this.#pending = data.length - at;
    }
    return this;
  }

  /** The hex digest of everything hashed so far (the state itself is left as it is). */
  digestHex(): string {
    const copy = ResumableSha256.fromState(this.exportState());
    const bits = copy.#bytes * 8;
    const tail = new Uint8Array(copy.#pending < 56 ? 64 - copy.#pending : 128 - copy.#pending);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    copy.update(tail);
    let hex = '';
    for (const word of copy.#h) hex += (word >>> 0).toString(16).padStart(8, '0');
    return hex;
  }

  exportState(): string {
    const words = Array.from(this.#h, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
    return `${STATE_PREFIX}:${words}:${this.#bytes}:${Buffer.from(this.#block.subarray(0, this.#pending)).toString('base64')}`;
  }

  /** Resumes a state saved by exportState; throws a TypeError on anything malformed. */
  static fromState(state: string): ResumableSha256 {
    const m = /^sha256-state-v1:([0-9a-f]{64}):(\d+):([A-Za-z0-9+/=]*)$/.exec(state);
    const pending = m ? Buffer.from(m[3]!, 'base64') : undefined;
    const bytes = m ? Number(m[2]) : NaN;
    if (!m || !Number.isSafeInteger(bytes) || pending!.length !== bytes % 64) throw new TypeError('not a saved SHA-256 state');
    const hash = new ResumableSha256();
    for (let i = 0; i < 8; i++) hash.#h[i] = parseInt(m[1]!.slice(i * 8, i * 8 + 8), 16) | 0;
    hash.#block.set(pending!, 0);
    hash.#pending = pending!.length;
    hash.#bytes = bytes;
    return hash;
  }

  #compress(data: Uint8Array, at: number): void {
    const w = this.#w;
    for (let i = 0; i < 16; i++) {
      const j = at + i * 4;
      w[i] = (data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const h = this.#h;
    let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (k + S1 + ch + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
    h[5] = (h[5]! + f) | 0;
    h[6] = (h[6]! + g) | 0;
    h[7] = (h[7]! + k) | 0;
  }
}
