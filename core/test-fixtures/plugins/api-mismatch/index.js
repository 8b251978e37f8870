'use strict';
// Test fixture: never loaded (its apiVersion does not match). Loading it would be a bug.
throw new Error('api-mismatch fixture must never be loaded');
