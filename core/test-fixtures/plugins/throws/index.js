'use strict';
// Test fixture: backup and restore throw a plain Error (not an EbmError).
const { defineTranslator } = require('@ebm/sdk');

module.exports = defineTranslator({
  async backup() {
    throw new Error('fixture exploded: the source is on fire');
  },
  async restore() {
    throw new Error('fixture exploded during restore');
  },
});
