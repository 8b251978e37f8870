/**
 * {{packageName}} — an ebm translator plugin for "{{displayName}}".
 *
 * The format this skeleton handles: a directory of `.txt` records, one file
 * per record, nothing else in it. Replace backup.ts and restore.ts with your
 * application's format; keep the contract (see docs/plugins.md of ebm).
 */
import { defineTranslator } from '@ebm/sdk';
import { backupRecords } from './backup';
import { restoreRecords } from './restore';

export default defineTranslator({
  backup: backupRecords,
  restore: restoreRecords,
});
