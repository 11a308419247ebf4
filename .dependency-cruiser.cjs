// The import rules of src/, checked by `npm run deps` (and so by `npm test`): no circle, and the
// layers import one way only, each from the layers below it, never from one above.
//
//   errors.ts, common/   deadlines, the HTTP/retry layer, health probes, webhooks, the step barrier
//   gcp/                 one typed client per Google API
//   inputs/              every input read and parsed into Settings
//   auth/                credentials
//   image/               build, push, digest
//   deploy/              the service spec and traffic planning (pure), applying one change
//   rollout/             observe, plan (pure data), execute, per region and across regions
//   report/              outputs, job summary, PR comment, deployments, status, webhooks
//   main.ts, post.ts     the stages in order
const LAYERS = [
  ['common', '^src/(errors\\.ts|common/)'],
  ['gcp', '^src/gcp/'],
  ['inputs', '^src/inputs/'],
  ['auth', '^src/auth/'],
  ['image', '^src/image/'],
  ['deploy', '^src/deploy/'],
  ['rollout', '^src/rollout/'],
  ['report', '^src/report/'],
  ['entry', '^src/(main|post|index|cjs-globals)\\.ts$'],
];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `${name}-imports-downward-only`,
  comment: `${name} may import only from the layers below it, not from ${LAYERS.slice(i + 1)
    .map(([above]) => above)
    .join(', ')}.`,
  severity: 'error',
  from: { path },
  to: {
    path: LAYERS.slice(i + 1)
      .map(([, above]) => `(${above})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other in a circle cannot be read, tested or loaded one at a time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    {
      name: 'src-stands-alone',
      comment: 'The action never imports the emulator or the tests.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(emulator|__tests__|scripts)/' },
    },
    {
      name: 'emulator-does-not-know-runway',
      comment: "The emulator answers as Google and GitHub do, so it never imports Runway's code.",
      severity: 'error',
      from: { path: '^emulator/' },
      to: { path: '^src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
