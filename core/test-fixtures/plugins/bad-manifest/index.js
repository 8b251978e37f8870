'use strict';
// Test fixture: never loaded (its manifest is invalid). Loading it would be a bug.
throw new Error('bad-manifest fixture must never be loaded');
