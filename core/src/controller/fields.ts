import type { OptionValue } from '@ebm/sdk';

/**
 * Field readers for request validation. Each records a problem as
 * "<field>: <what is wrong>" and returns undefined, so one pass reports
 * every bad field of a request, not just the first.
 */
export class Fields {
  readonly problems: string[] = [];
  readonly #input: Readonly<Record<string, unknown>>;
  readonly #seen = new Set<string>();

  constructor(input: Readonly<Record<string, unknown>>) {
    this.#input = input;
  }

  problem(field: string, message: string): undefined {
    this.problems.push(`${field}: ${message}`);
    return undefined;
  }

  has(field: string): boolean {
    this.#seen.add(field);
    return this.#input[field] !== undefined;
  }

  raw(field: string): unknown {
    this.#seen.add(field);
    return this.#input[field];
  }

  string(field: string, options: { required?: boolean; pattern?: RegExp; patternHint?: string } = {}): string | undefined {
    const v = this.raw(field);
    if (v === undefined) return options.required ? this.problem(field, 'is required') : undefined;
    if (typeof v !== 'string' || v.trim() === '') return this.problem(field, `must be a non-empty string, got ${show(v)}`);
    if (options.pattern !== undefined && !options.pattern.test(v)) return this.problem(field, `${show(v)} ${options.patternHint ?? `must match ${String(options.pattern)}`}`);
    return v;
  }

  boolean(field: string, fallback: boolean): boolean {
    const v = this.raw(field);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      this.problem(field, `must be true or false, got ${show(v)}`);
      return fallback;
    }
    return v;
  }

  integer(field: string, min: number, max: number, fallback?: number): number | undefined {
    const v = this.raw(field);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return this.problem(field, `must be an integer between ${min} and ${max}, got ${show(v)}`);
    return v;
  }

  strings(field: string): string[] {
    const v = this.raw(field);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s !== '')) {
      this.problem(field, `must be a list of non-empty strings, got ${show(v)}`);
      return [];
    }
    return v as string[];
  }

  /** Fields present in the input that no reader asked for (typos must not pass silently). */
  unknownFields(): string[] {
    return Object.keys(this.#input).filter((k) => !this.#seen.has(k) && this.#input[k] !== undefined);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isOptionValue(value: unknown): value is OptionValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) || (Array.isArray(value) && value.every((s) => typeof s === 'string'));
}

export function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
