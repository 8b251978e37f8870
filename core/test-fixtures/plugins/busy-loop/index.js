'use strict';
// Test fixture: a synchronous infinite loop; no message or timer ever runs again in this worker.
const { defineTranslator } = require('@ebm/sdk');

function spin() {
  let n = 0;
  for (;;) n = (n + 1) % 1000003;
}
module.exports = defineTranslator({
  async backup() {
    spin();
  },
  async restore() {
    spin();
  },
});
