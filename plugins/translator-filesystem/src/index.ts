/**
 * @ebm/translator-filesystem — backs up and restores directory trees:
 * files, directories, symlinks, hardlinks, FIFOs, device nodes, sockets
 * (metadata only), ownership, nanosecond times and extended attributes.
 * Incremental by (size, mtime, ctime, inode). See README.md.
 */
import { defineTranslator } from '@ebm/sdk';
import { backupFilesystem } from './backup/backup';
import { restoreFilesystem } from './restore/restore';

export default defineTranslator({
  backup: backupFilesystem,
  restore: restoreFilesystem,
});
