import { describeBackendConformance } from './backend-conformance';
import { MemoryBackend } from './memory-backend';

describeBackendConformance('MemoryBackend', async () => ({ backend: new MemoryBackend(), cleanup: async () => undefined }));
