'use strict';
// Test fixture: fails at require time, like a plugin with a missing native binding.
throw new Error('fixture load failure: cannot find native binding libfixture.so');
