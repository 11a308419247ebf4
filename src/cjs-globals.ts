// actions-utils (deploy-cloudrun's parsing library) ships as a CommonJS bundle that reads
// `__dirname` as it loads; inside Runway's ES-module bundle there is none. Imported first.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const globals = globalThis as { __dirname?: string };
globals.__dirname ??= dirname(fileURLToPath(import.meta.url));
