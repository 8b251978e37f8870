'use strict';
// Test fixture: awaits a promise that never settles and ignores ctx.signal.
const { defineTranslator } = require('@ebm/sdk');

const never = () => new Promise(() => {});
module.exports = defineTranslator({
  async backup() {
    await never();
  },
  async restore() {
    await never();
  },
});
