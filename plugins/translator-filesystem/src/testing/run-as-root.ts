/** Fails clearly when a test needs root (device nodes, chown) and is not run as root; CI runs as root. */
export function requireRoot(what: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(`this test needs to run as root (uid 0) to ${what}; CI runs the suite as root`);
  }
}
