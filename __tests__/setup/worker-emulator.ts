// Runs before each test file of the emulator and e2e projects: points the file at the emulator of
// the Jest worker running it (global-setup.ts starts one per worker), and puts that emulator back
// to its default world first, so a file never sees another file's services, containers, request
// log, faults or seeds.
import { delimiter } from 'node:path';
import { admin } from '../helpers/emulator.js';

const files = (process.env.RUNWAY_EMULATOR_ENV_FILES ?? '').split(delimiter).filter(Boolean);
const worker = Number(process.env.JEST_WORKER_ID ?? '1');
const file = files[worker - 1];
if (!file)
  throw new Error(
    `no emulator for Jest worker ${worker} (RUNWAY_EMULATOR_ENV_FILES names ${files.length}): run tests through jest, whose global setup starts them`,
  );
process.env.RUNWAY_EMULATOR_ENV_FILE = file;

beforeAll(() => admin.reset(), 120_000);
