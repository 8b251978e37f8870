'use strict';
// Test fixture: keeps allocating reachable objects until V8 stops the worker.
const { defineTranslator } = require('@ebm/sdk');

function hog() {
  const kept = [];
  for (;;) kept.push(Array.from({ length: 10000 }, (_, i) => ({ i })));
}
module.exports = defineTranslator({
  async backup() {
    hog();
  },
  async restore() {
    hog();
  },
});
