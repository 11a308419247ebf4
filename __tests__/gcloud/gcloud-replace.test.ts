// deploy-cloudrun's `metadata` side by side: the same Knative Service YAML given to the installed
// `gcloud run services replace` (what deploy-cloudrun runs) and to Runway's `metadata`, each against
// the emulator, make the same v2 service: the conversion Runway does itself is Cloud Run's.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { authInputs, expectSuccess, runAction } from '../helpers/action.js';
import { answer, getService } from '../helpers/cloudrun.js';
import { gcloud, gcloudSuite } from '../helpers/gcloud.js';
import { pushTestImage } from '../helpers/images.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = gcloudSuite('gcloud run services replace differential');

const file = (name: string, image: string, split?: { revision: string; traffic: Json[] }): string => {
  const doc: Json = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name,
      labels: { team: 'web' },
      annotations: {
        'run.googleapis.com/ingress': 'all',
        'run.googleapis.com/description': 'side by side',
        'run.googleapis.com/invoker-iam-disabled': 'true',
        'example.com/owner': 'web-team',
      },
    },
    spec: {
      template: {
        metadata: {
          labels: { tier: 'front' },
          annotations: {
            'autoscaling.knative.dev/minScale': '0',
            'autoscaling.knative.dev/maxScale': '4',
            'run.googleapis.com/cpu-throttling': 'false',
            'run.googleapis.com/startup-cpu-boost': 'true',
            'run.googleapis.com/execution-environment': 'gen2',
          },
        },
        spec: {
          containerConcurrency: 30,
          timeoutSeconds: 90,
          containers: [
            {
              image,
              ports: [{ name: 'http1', containerPort: 8080 }],
              env: [{ name: 'MODE', value: 'file' }],
              resources: { limits: { cpu: '1', memory: '256Mi' } },
              startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 30 },
            },
          ],
        },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    },
  };
  if (split) {
    doc.spec.template.metadata.name = split.revision;
    doc.spec.traffic = split.traffic;
  }
  const path = join(mkdtempSync(join(tmpdir(), 'runway-replace-')), 'service.yaml');
  writeFileSync(path, stringify(doc));
  return path;
};

/** What the file decides, without what names or counts the service (name, uid, revisions, times). */
function comparable(service: Json): Json {
  const { revision: _revision, ...template } = service.template as Json;
  const annotations = Object.fromEntries(
    Object.entries((service.annotations ?? {}) as Json).filter(([k]) => !k.startsWith('runway.dev/')),
  );
  return {
    labels: service.labels,
    annotations,
    ingress: service.ingress,
    description: service.description,
    invokerIamDisabled: service.invokerIamDisabled,
    scaling: service.scaling,
    launchStage: service.launchStage,
    template,
  };
}

suite('gcloud run services replace and Runway’s metadata, side by side', () => {
  it('make the same service of the same file', async () => {
    const image = await pushTestImage('gc-replace-app', 'same file');
    const replaced = await gcloud([
      'run',
      'services',
      'replace',
      file('gc-replace-gcloud', image),
      '--region=us-central1',
      '--quiet',
    ]);
    expect(replaced.stderr).toContain('New configuration has been applied');
    expect(replaced.code).toBe(0);
    const run = await runAction({
      ...authInputs(),
      metadata: file('gc-replace-runway', image),
      // deploy-cloudrun adds no labels to a replace.
      skip_default_labels: 'true',
      health_check_timeout: '20s',
      health_check_successes: '2',
    });
    expectSuccess(run);
    const theirs = (await getService('gc-replace-gcloud')) as Json;
    const ours = (await getService('gc-replace-runway')) as Json;
    expect(comparable(ours)).toEqual(comparable(theirs));
    expect(await answer(ours.uri as string)).toBe('200 same file');
    expect(await answer(theirs.uri as string)).toBe('200 same file');
  });

  it('move traffic as the file’s spec.traffic says: a revision by name, the latest one, and tags', async () => {
    const image = await pushTestImage('gc-replace-split', 'split file');
    const first = (name: string): string => file(name, image, { revision: `${name}-one`, traffic: [] });
    const second = (name: string): string =>
      file(name, image, {
        revision: `${name}-two`,
        traffic: [
          { revisionName: `${name}-one`, percent: 60, tag: 'old' },
          { latestRevision: true, percent: 40, tag: 'new' },
          { revisionName: `${name}-one`, tag: 'again' },
        ],
      });
    const replace = async (path: string): Promise<void> => {
      const run = await gcloud(['run', 'services', 'replace', path, '--region=us-central1', '--quiet']);
      expect(run.stderr).toContain('New configuration has been applied');
    };
    const deploy = async (path: string): Promise<void> =>
      expectSuccess(
        await runAction({
          ...authInputs(),
          metadata: path,
          skip_default_labels: 'true',
          health_check_timeout: '20s',
          health_check_successes: '2',
        }),
      );
    await replace(first('gc-split-gcloud'));
    await replace(second('gc-split-gcloud'));
    await deploy(first('gc-split-runway'));
    await deploy(second('gc-split-runway'));
    // Per revision (named after its service), its share and its tags: Runway names the new revision
    // where gcloud leaves LATEST, and keeps a tag on an entry of its own.
    const traffic = async (name: string): Promise<Json> => {
      const service = (await getService(name)) as Json;
      const latest = String(service.latestReadyRevision).split('/').pop();
      const out: Json = {};
      for (const t of service.trafficStatuses as Json[]) {
        const revision = String(t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' ? latest : t.revision);
        const entry = (out[revision.slice(name.length + 1)] ??= { percent: 0, tags: [] });
        entry.percent += t.percent ?? 0;
        if (t.tag) entry.tags.push(t.tag);
      }
      for (const entry of Object.values(out)) entry.tags.sort();
      return out;
    };
    const theirs = await traffic('gc-split-gcloud');
    expect(theirs).toEqual({
      one: { percent: 60, tags: ['again', 'old'] },
      two: { percent: 40, tags: ['new'] },
    });
    expect(await traffic('gc-split-runway')).toEqual(theirs);
  });
});
