/**
 * @ebm/translator-stream — backs up one byte stream: a command's standard
 * output (run without a shell; no snapshot unless it exits 0), standard
 * input, a named pipe or a growing file; restores it to standard output, a
 * file or a command's standard input, verified against its SHA-256.
 * See docs/plugins.md, section "translator-stream".
 */
import { defineTranslator } from '@ebm/sdk';
import { backupStream } from './backup/backup';
import { restoreStream } from './restore/restore';

export default defineTranslator({
  backup: backupStream,
  restore: restoreStream,
});
