import type { DiscoveryReport, JsonValue } from '@ebm/sdk';
import { formatBytes } from './output';

/**
 * Human lines for a report: the well-known shapes (tables of a database,
 * layers of an endpoint) as tables, anything else as indented key: value.
 */
export function describe(report: DiscoveryReport): string[] {
  const lines: string[] = [];
  const tables = report.tables;
  const layers = report.layers;
  for (const [key, value] of Object.entries(report)) {
    if ((key === 'tables' && Array.isArray(tables)) || (key === 'layers' && Array.isArray(layers))) continue;
    lines.push(`${key}: ${scalar(key, value)}`);
  }
  if (Array.isArray(tables)) {
    lines.push(`tables (${tables.length}):`);
    for (const t of tables as Array<{ [k: string]: JsonValue }>) lines.push(`  ${String(t.name).padEnd(32)} ${t.rows === null ? '?' : String(t.rows)} rows`);
  }
  if (Array.isArray(layers)) {
    lines.push(`layers (${layers.length}):`);
    for (const l of layers as Array<{ [k: string]: JsonValue }>) {
      const bytes = typeof l.bytes === 'number' ? formatBytes(l.bytes) : '?';
      const digest = typeof l.digest === 'string' ? `  ${l.digest.slice(0, 19)}` : '';
      lines.push(`  ${String(l.order ?? '').padStart(2)} ${String(l.id).padEnd(24)} ${String(l.kind).padEnd(10)} ${l.immutable ? 'immutable' : 'writable '} ${String(l.files ?? '?').padStart(8)} files ${bytes.padStart(10)}${digest}`);
    }
  }
  return lines;
}

function scalar(key: string, value: JsonValue): string {
  if (typeof value === 'number' && /bytes$/i.test(key)) return `${formatBytes(value)} (${value} bytes)`;
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
