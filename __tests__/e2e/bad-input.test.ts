// The bad-input corpus (helpers/bad-inputs.ts) end to end: the cases refused only after the Inputs
// stage, and a representative few of the others (unit/bad-input.test.ts runs every case the Inputs
// stage refuses, in-process). Each must fail the step, name the input at fault, and change
// nothing: the emulator's request log shows no mutating request (create, patch, delete,
// setIamPolicy, secret writes or a registry push) during the run. Cloud Run's dry run
// (validateOnly) and read-only IAM calls are not changes.
import { admin, emulatorEnv, type RequestRecord } from '../helpers/emulator.js';
import { deployImage, errorOf, runAction, authInputs } from '../helpers/action.js';
import { pushTestImage } from '../helpers/images.js';
import { BAD_INPUTS, removeCheckoutFiles } from '../helpers/bad-inputs.js';

const END_TO_END = BAD_INPUTS.filter((c) => c.endToEnd);
afterAll(removeCheckoutFiles);

/** Requests that change something, as opposed to reads, dry runs, token exchanges and IAM tests. */
function isMutation(r: RequestRecord): boolean {
  if (r.method === 'GET' || r.method === 'HEAD') return false;
  if (r.api === 'registry') return true;
  if (r.api === 'github') return false;
  if (/validateOnly=true/.test(r.path)) return false;
  if (/:(testIamPermissions|getIamPolicy|wait|access)\b/.test(r.path)) return false;
  return r.api === 'run' || r.api === 'secretmanager';
}

let image: string;
let before: number;

beforeAll(async () => {
  image = await pushTestImage('bad-input', 'never-deployed');
});

describe('bad input fails before anything changes, naming the input', () => {
  it(`runs every case refused after the Inputs stage, and a few others (${END_TO_END.length})`, () => {
    expect(BAD_INPUTS.filter((c) => c.refusedLater && !c.endToEnd)).toEqual([]);
    expect(END_TO_END.filter((c) => !c.refusedLater).length).toBeGreaterThanOrEqual(5);
  });

  it.each(END_TO_END)('$what', async ({ inputs, names }) => {
    const withRepository = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [
        k,
        v === 'REPO' ? emulatorEnv().RUNWAY_EMULATOR_REPOSITORY! : v,
      ]),
    );
    before = (await admin.requests()).length;
    const run = await deployImage('e2e-bad-input', image, withRepository);
    const during = (await admin.requests()).slice(before);
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain(names);
    expect(during.filter(isMutation).map((r) => `${r.method} ${r.api} ${r.path}`)).toEqual([]);
  });

  it('the mutation filter sees a real deploy (it can fail)', async () => {
    before = (await admin.requests()).length;
    const run = await runAction({ ...authInputs(), service: 'e2e-bad-input-control', image });
    const during = (await admin.requests()).slice(before);
    expect(run.exitCode).toBe(0);
    expect(during.filter(isMutation).length).toBeGreaterThan(0);
  });
});
