#!/usr/bin/env node
// Writes docs/errors.md from the SDK's error catalogue (run after `tsc -b`).
// A test fails when docs/errors.md is out of date, so the catalogue and its
// documentation cannot drift apart.
const fs = require('node:fs');
const path = require('node:path');
const { renderErrorsDoc } = require('./errors-doc');
const out = path.join(__dirname, '..', 'docs', 'errors.md');
fs.writeFileSync(out, renderErrorsDoc());
console.log(`wrote ${out}`);
