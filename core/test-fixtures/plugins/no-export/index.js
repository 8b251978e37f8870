'use strict';
// Test fixture: loads fine but exports nothing usable as a translator.
module.exports = { backup: 'not a function', hello: 'world' };
