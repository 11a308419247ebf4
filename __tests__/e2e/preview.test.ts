// End to end, pull-request previews (issue 8): a preview is a revision under the pull request's tag
// that takes no traffic; cleanup drops the tag and retires its deployment; keep_revisions deletes
// only revisions that serve nothing and carry no tag. Each test writes the event GitHub would.
import { env } from '../helpers/emulator.js';
import { deployImage, errorOf, expectSuccess, type ActionRun } from '../helpers/action.js';
import { getService, patchService, revisionNames, sample, servingSplit } from '../helpers/cloudrun.js';
import { pullRequestRun } from '../helpers/github-event.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function github(path: string): Promise<Json> {
  const res = await fetch(`${env('GITHUB_API_URL')}/repos/${env('GITHUB_REPOSITORY')}${path}`, {
    headers: { authorization: `Bearer ${env('GITHUB_TOKEN')}` },
  });
  return (await res.json()) as Json;
}

const tagsOf = (s: Json | undefined): Record<string, string> =>
  Object.fromEntries(
    ((s?.traffic ?? []) as Json[]).filter((t) => t.tag).map((t) => [t.tag, String(t.revision ?? '')]),
  );

const only = (run: ActionRun, body: string): Promise<Map<string, number>> =>
  sample(run.outputs.url!, 6).then((seen) => {
    expect([...seen.keys()]).toEqual([`200 ${body}`]);
    return seen;
  });

let stable: string;
let next: string;
let third: string;

beforeAll(async () => {
  [stable, next, third] = await Promise.all([
    pushTestImage('preview-stable', 'stable'),
    pushTestImage('preview-next', 'next'),
    pushTestImage('preview-third', 'third'),
  ]);
});

describe('a pull request preview', () => {
  const service = 'e2e-preview';
  const headSha = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const inputs = { preview: 'true', deployment_environment: 'e2e-review' };

  it('serves the PR revision on its tag URL, leaves production untouched, and cleanup removes it', async () => {
    const production = await deployImage(service, stable, { comment: 'never' });
    expectSuccess(production);

    const preview = await deployImage(service, next, inputs, pullRequestRun(21, 'synchronize', headSha));
    expectSuccess(preview);
    expect(preview.outputs.preview_url).toBeTruthy();
    expect(preview.outputs.preview_url).toBe(preview.outputs.tag_url);
    expect(preview.outputs.preview_url).not.toBe(preview.outputs.url);
    expect(preview.outputs.url).toBe(production.outputs.url);
    expect([...(await sample(preview.outputs.preview_url!, 6)).keys()]).toEqual(['200 next']);
    await only(production, 'stable');
    let live = await getService(service);
    expect(servingSplit(live!)).toEqual({ [production.outputs.revision!]: 100 });
    expect(tagsOf(live)['pr-21']).toContain(preview.outputs.revision);
    const tagStatus = live!.trafficStatuses?.find((t) => t.tag === 'pr-21');
    expect(tagStatus?.uri).toBe(preview.outputs.preview_url);
    expect(preview.summary).toContain('`e2e-preview` preview `pr-21`');

    const deployments = (await github('/deployments?environment=e2e-review-pr-21')) as unknown as Json[];
    expect(deployments).toHaveLength(1);
    expect(deployments[0]).toMatchObject({
      sha: headSha,
      transient_environment: true,
      production_environment: false,
    });
    const statuses = (await github(`/commits/${headSha}/statuses`)) as unknown as Json[];
    expect(statuses.find((s) => s.context === `runway/${service}`)).toMatchObject({ state: 'success' });
    const comments = (await github('/issues/21/comments?per_page=100')) as unknown as Json[];
    const ours = comments.filter((c) => String(c.body).includes(`runway:comment service=${service} `));
    expect(ours).toHaveLength(1);
    expect(String(ours[0]!.body)).toContain(preview.outputs.preview_url);

    // A push to the pull request moves its tag to the new revision; production still untouched.
    const again = await deployImage(service, third, inputs, pullRequestRun(21, 'synchronize', headSha));
    expectSuccess(again);
    expect(again.outputs.preview_url).toBe(preview.outputs.preview_url);
    expect([...(await sample(again.outputs.preview_url!, 6)).keys()]).toEqual(['200 third']);
    await only(production, 'stable');
    live = await getService(service);
    expect(Object.values(tagsOf(live)).filter((r) => r.endsWith(preview.outputs.revision!))).toEqual([]);
    expect(tagsOf(live)['pr-21']).toContain(again.outputs.revision);

    const cleanup = await deployImage(
      service,
      '',
      { cleanup: 'true', deployment_environment: 'e2e-review', image: '' },
      pullRequestRun(21, 'closed', headSha),
    );
    expectSuccess(cleanup);
    live = await getService(service);
    expect(tagsOf(live)['pr-21']).toBeUndefined();
    expect(servingSplit(live!)).toEqual({ [production.outputs.revision!]: 100 });
    await only(production, 'stable');
    expect(cleanup.summary).toContain('preview `pr-21` 🧹 removed');
    const retired = (await github(`/deployments/${deployments[0]!.id}/statuses`)) as unknown as Json[];
    expect(retired.map((s) => s.state)).toContain('inactive');
    const after = (await github('/issues/21/comments?per_page=100')) as unknown as Json[];
    const updated = after.filter((c) => String(c.body).includes(`runway:comment service=${service} `));
    expect(updated).toHaveLength(1);
    expect(String(updated[0]!.body)).toContain('Pull request #21 is closed.');
  });

  it("changes nothing service-wide, and its settings never reach production's next revision", async () => {
    const before = await getService(service);
    const production = before!.uri as string;
    const run = await deployImage(
      service,
      next,
      {
        ...inputs,
        allow_unauthenticated: 'false',
        ingress: 'internal',
        env_vars: 'DATABASE_URL=postgres://pr-experiment',
        labels: 'team=pr-experiment',
      },
      pullRequestRun(24, 'synchronize', headSha),
    );
    expectSuccess(run);
    const after = await getService(service);
    expect(after?.ingress).toBe(before?.ingress);
    expect(after?.labels).toEqual(before?.labels);
    expect([...(await sample(production, 4)).keys()]).toEqual(['200 stable']);

    const next_ = await deployImage(service, stable, { comment: 'never' });
    expectSuccess(next_);
    const live = await getService(service);
    const env_ = JSON.stringify((live!.template as Json).containers?.[0]?.env ?? []);
    expect(env_).not.toContain('pr-experiment');
    expect((live!.template as Json).labels?.team).toBeUndefined();
  });

  it('that fails leaves its tag on the earlier preview and reports no preview URL', async () => {
    const good = await deployImage(service, next, inputs, pullRequestRun(25, 'synchronize', headSha));
    expectSuccess(good);
    const bad = await deployImage(
      service,
      third,
      { ...inputs, health_check_path: '/nope' },
      pullRequestRun(25, 'synchronize', headSha),
    );
    expect(bad.exitCode).toBe(1);
    expect(bad.outputs.preview_url ?? '').toBe('');
    const live = await getService(service);
    expect(tagsOf(live)['pr-25']).toContain(good.outputs.revision);
    expect([...(await sample(good.outputs.preview_url!, 4)).keys()]).toEqual(['200 next']);
  });

  it('of a fork is refused before anything changes', async () => {
    const before = await getService(service);
    const run = await deployImage(
      service,
      next,
      inputs,
      pullRequestRun(22, 'synchronize', headSha, 'stranger/fork'),
    );
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain('Pull request #22 comes from a fork');
    expect(errorOf(run)).toContain('workflow_run');
    const after = await getService(service);
    expect(after?.etag).toBe(before?.etag);
    expect(tagsOf(after)['pr-22']).toBeUndefined();
  });

  it('of a fork is skipped at cleanup: it never had a preview', async () => {
    const run = await deployImage(
      service,
      '',
      { cleanup: 'true', image: '' },
      pullRequestRun(22, 'closed', headSha, 'stranger/fork'),
    );
    expectSuccess(run);
  });

  it('of a service that does not exist yet is refused, and creates nothing', async () => {
    const run = await deployImage(
      'e2e-preview-none',
      next,
      inputs,
      pullRequestRun(23, 'synchronize', headSha),
    );
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toMatch(/e2e-preview-none/);
    expect(await getService('e2e-preview-none')).toBeUndefined();
  });

  it('outside a pull request is refused, naming the input', async () => {
    const run = await deployImage(service, next, inputs, {
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: '',
      GITHUB_REF: 'refs/heads/main',
    });
    expect(run.exitCode).toBe(1);
    expect(errorOf(run)).toContain("Input 'preview' is for pull requests");
  });
});

describe('keep_revisions', () => {
  it('deletes the oldest revisions that serve nothing and carry no tag, and only those', async () => {
    const service = 'e2e-prune';
    const opts = { comment: 'never' };
    const first = await deployImage(service, stable, opts);
    expectSuccess(first);
    const second = await deployImage(service, next, opts);
    expectSuccess(second);
    const thirdRun = await deployImage(service, third, opts);
    expectSuccess(thirdRun);
    // Someone pins the first revision under a tag of their own: it must survive.
    await patchService(service, (s) => ({
      ...s,
      traffic: [
        ...(s.traffic ?? []),
        {
          type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
          revision: first.outputs.revision!,
          percent: 0,
          tag: 'pinned',
        },
      ],
    }));

    // The revisions here are minutes old: keep_revisions_grace would keep them all.
    const last = await deployImage(service, stable, {
      ...opts,
      keep_revisions: '0',
      keep_revisions_grace: '0s',
    });
    expectSuccess(last);
    const names = await revisionNames(service);
    expect(names).toContain(last.outputs.revision); // serving
    expect(names).toContain(first.outputs.revision); // tagged
    expect(last.outputs.previous_revision).toBe(thirdRun.outputs.revision);
    expect(names).toContain(thirdRun.outputs.revision); // served before this run: a rollback's target
    expect(names).not.toContain(second.outputs.revision); // idle, untagged: deleted
    expect(last.summary).toContain('Idle revisions deleted');
    expect(last.summary).toContain(`\`${second.outputs.revision}\``);
    await only(last, 'stable');
  });
});
