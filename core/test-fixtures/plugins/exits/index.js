'use strict';
// Test fixture: ends its worker thread with exit code 7 in the middle of a job.
const { defineTranslator } = require('@ebm/sdk');

module.exports = defineTranslator({
  async backup() {
    process.exit(7);
  },
  async restore() {
    process.exit(7);
  },
});
