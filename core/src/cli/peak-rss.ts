import { readFileSync } from 'node:fs';

/**
 * This process's peak resident memory in KiB, as its summary reports it.
 *
 * On Linux it is VmHWM from /proc/self/status: the high-water mark of this
 * program's own memory, which starts anew at exec. getrusage's maxRSS
 * (process.resourceUsage) does not: the kernel keeps the largest RSS the
 * process had before exec, and a forked child starts with its parent's, so
 * an ebm started by a large process (a test runner of several hundred MiB)
 * reported the parent's size as its own peak (415 and 488 MiB for a backup
 * that peaks at ~230). Elsewhere, maxRSS is what there is.
 */
export function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match !== null) return Number(match[1]);
  } catch {
    // not Linux (no /proc): fall back below
  }
  return process.resourceUsage().maxRSS;
}
