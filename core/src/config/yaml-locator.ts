import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Node } from 'yaml';
import type { ConfigPath, ConfigProblem } from './config-problem';
import { formatConfigPath } from './config-problem';

/**
 * Maps a path in the loaded value back to a place in the file. The parsed
 * document keeps every node's source range; the LineCounter turns offsets
 * into 1-based line:column. JSON files are parsed by the same YAML parser
 * (JSON is YAML's flow style), so both formats get positions.
 *
 * Where a path cannot be followed to its end (a missing key, a value that
 * came in through a merge key), the deepest node found is used: the problem
 * is reported at the closest place that exists.
 */

/** Whether the problem is about a key (unknown key, bad name) or a value. */
export type Anchor = 'key' | 'value';

export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** A problem located at `path` (anchor 'key': at the key of the last segment). */
  problem(path: ConfigPath, message: string, anchor: Anchor = 'value'): ConfigProblem {
    const { line, col } = this.lines.linePos(this.offsetOf(path, anchor));
    return { line, column: col, path: formatConfigPath(path), message };
  }

  /** A problem at a raw source offset, not at a value (syntax errors: path ""). */
  problemAt(offset: number, message: string): ConfigProblem {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col, path: '', message };
  }

  private offsetOf(path: ConfigPath, anchor: Anchor): number {
    let node: unknown = this.doc.contents;
    let keyOffset: number | undefined;
    let valueOffset = rangeStart(node) ?? 0;
    for (const segment of path) {
      node = this.resolve(node);
      const child = childOf(node, segment);
      if (child === undefined) return keyOffset ?? valueOffset;
      keyOffset = child.keyOffset;
      // `key:` with nothing after it has no value node: point at the key.
      valueOffset = rangeStart(child.value) ?? child.keyOffset ?? valueOffset;
      node = child.value;
    }
    return anchor === 'key' ? (keyOffset ?? valueOffset) : valueOffset;
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }
}

interface Child {
  readonly keyOffset?: number;
  readonly value: unknown;
}

function childOf(node: unknown, segment: string | number): Child | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(key) === String(segment)) return { keyOffset: rangeStart(pair.key), value: pair.value };
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { keyOffset: rangeStart(item), value: item };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}
