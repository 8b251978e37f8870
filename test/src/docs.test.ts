import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_CATALOGUE } from '@ebm/sdk';

const repoRoot = path.resolve(__dirname, '..', '..');

describe('documentation stays in step with the code', () => {
  it('docs/errors.md documents exactly the error catalogue (regenerate with node scripts/gen-errors-doc.js)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { renderErrorsDoc } = require(path.join(repoRoot, 'scripts', 'errors-doc.js')) as { renderErrorsDoc(): string };
    const onDisk = fs.readFileSync(path.join(repoRoot, 'docs', 'errors.md'), 'utf8');
    expect(onDisk).toBe(renderErrorsDoc());
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(onDisk).toContain(`\`${code}\``);
  });

  it('docs/format.md and docs/plugins.md exist and name the core terms', () => {
    const format = fs.readFileSync(path.join(repoRoot, 'docs', 'format.md'), 'utf8');
    for (const term of ['Terminology', 'blob', 'pack', 'index', 'snapshot', 'tree', 'key file', 'lock', 'FastCDC', 'AES-256-GCM', 'zstd', 'scrypt']) {
      expect(format.toLowerCase()).toContain(term.toLowerCase());
    }
    const runtime = fs.readFileSync(path.join(repoRoot, 'docs', 'runtime.md'), 'utf8');
    for (const term of ['ebm serve', 'SIGTERM', 'SIGKILL', 'budgets', 'verifying', 'journal', 'data mover', 'Bearer', '/metrics', 'schedule']) {
      expect(runtime).toContain(term);
    }
    expect(fs.existsSync(path.join(repoRoot, 'docs', 'openapi.yaml'))).toBe(true);
    const plugins = fs.readFileSync(path.join(repoRoot, 'docs', 'plugins.md'), 'utf8');
    for (const term of ['manifest', 'apiVersion', 'defineTranslator', 'writeContent', 'previous', 'readContent', 'E_CANCELLED', 'depth-first']) {
      expect(plugins).toContain(term);
    }
  });
});
