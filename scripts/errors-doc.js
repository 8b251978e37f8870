// Renders the error catalogue as Markdown. Shared by gen-errors-doc.js and the docs test.
const { ERROR_CATALOGUE } = require('../sdk/dist/index.js');

function renderErrorsDoc() {
  const lines = [
    '# Error catalogue',
    '',
    'Every error ebm reports carries one of these stable codes. Codes are never reused or renamed.',
    'Errors cross worker (and, later, network) boundaries as plain records `{code, message, retryable, plugin, op, subject, stack, cause}`',
    'and are rebuilt into `EbmError` on the other side (`EbmError.fromRecord`). With `--json`, the CLI prints them as',
    '`{"type":"error","error":{…}}`.',
    '',
    '*Generated from `sdk/src/errors/catalogue.ts` by `node scripts/gen-errors-doc.js`; a test fails when this file is out of date.*',
    '',
    '| code | meaning | what to do | retryable | exit code |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
    lines.push(`| \`${code}\` | ${spec.summary} | ${spec.hint.replace(/\|/g, '\\|')} | ${spec.retryable ? 'yes' : 'no'} | ${spec.exitCode} |`);
  }
  lines.push('');
  return lines.join('\n');
}

module.exports = { renderErrorsDoc };
