import { evaluateCel } from '../../emulator/cel.js';

const vars = {
  assertion: { repository: 'octo-org/octo-repo', ref: 'refs/heads/main', repository_owner: 'octo-org' },
};

describe('the emulator CEL subset for attribute conditions', () => {
  it.each([
    ["assertion.repository == 'octo-org/octo-repo'", true],
    ["assertion.repository != 'octo-org/octo-repo'", false],
    ["assertion.repository_owner == 'octo-org' && assertion.ref == 'refs/heads/main'", true],
    ["assertion.repository_owner == 'evil' || assertion.ref.startsWith('refs/heads/')", true],
    ["!(assertion.ref == 'refs/heads/main')", false],
    ["assertion.repository in ['a/b', 'octo-org/octo-repo']", true],
    ["assertion.missing == 'x'", false],
  ])('%s → %s', (expr, expected) => {
    expect(evaluateCel(expr, vars)).toBe(expected);
  });
  it('evaluates mapping expressions to strings', () => {
    expect(evaluateCel('assertion.repository', vars)).toBe('octo-org/octo-repo');
  });
  it('rejects what it does not understand instead of guessing', () => {
    expect(() => evaluateCel('assertion.ref.matches("x")', vars)).toThrow(/unsupported function/);
    expect(() => evaluateCel("assertion.ref == 'x' junk", vars)).toThrow();
  });
});
