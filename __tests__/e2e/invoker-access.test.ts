// End to end, `--no-invoker-iam-check` in `flags` (invokerIamDisabled): the emulator lets requests
// without a token through, as Cloud Run does, whatever the IAM policy says; Runway's own checks then
// need no ID token. Turning the check back on makes the service private again. Also the other
// service-wide flags reach the service as gcloud sets them.
import { deployImage, expectSuccess } from '../helpers/action.js';
import { getService } from '../helpers/cloudrun.js';
import { pushTestImage } from '../helpers/images.js';

const status = async (url: string): Promise<number> => (await fetch(url)).status;

it('--no-invoker-iam-check opens a service whose IAM policy is private, and --invoker-iam-check closes it', async () => {
  const [one, two] = await Promise.all([
    pushTestImage('invoker-one', 'one'),
    pushTestImage('invoker-two', 'two'),
  ]);
  const open = await deployImage('e2e-invoker', one, {
    allow_unauthenticated: 'false',
    flags:
      '--no-invoker-iam-check --description=open --session-affinity --min=1 --binary-authorization=default --add-custom-audiences=https://api.example',
  });
  expectSuccess(open);
  const service = (await getService('e2e-invoker'))!;
  expect(service).toMatchObject({
    invokerIamDisabled: true,
    description: 'open',
    scaling: { minInstanceCount: 1 },
    binaryAuthorization: { useDefault: true },
    customAudiences: ['https://api.example'],
    template: { sessionAffinity: true },
  });
  expect(await status(open.outputs.url!)).toBe(200);

  const closed = await deployImage('e2e-invoker', two, {
    allow_unauthenticated: 'false',
    flags: '--invoker-iam-check',
  });
  expectSuccess(closed);
  // proto3 JSON leaves a false boolean out.
  expect((await getService('e2e-invoker'))!.invokerIamDisabled ?? false).toBe(false);
  expect(await status(closed.outputs.url!)).toBe(403);
});
