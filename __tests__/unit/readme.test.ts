// The README is the user's manual: short enough to read, in the order a new user needs it, and
// every link in it (and in the docs it sends contributors to) lands on a file and a heading.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { brokenLinks, headings, localLinks } from '../helpers/markdown-links.js';

const root = resolve(import.meta.dirname ?? '.', '..', '..');
const file = (name: string): string => resolve(root, name);
const readme = readFileSync(file('README.md'), 'utf8');
const sections = headings(readme).filter((h) => h.level === 2);

/** The lines of the README's section headed `title`, up to the next `##` heading. */
function section(title: string): string {
  const lines = readme.split('\n');
  const at = sections.findIndex((h) => h.text === title);
  if (at < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = sections[at + 1]?.line ?? lines.length + 1;
  return lines.slice(sections[at]!.line, end - 1).join('\n');
}

describe('README.md', () => {
  it('is at most 700 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(700);
  });

  it('opens with what Runway does, then the contents, prerequisites, set-up and quick start, in that order', () => {
    const first = sections.slice(0, 4).map((h) => h.text);
    expect(first).toEqual(['Contents', 'Prerequisites', 'One-time set-up', 'Quick start']);
    const intro = readme.slice(0, readme.indexOf('\n## Contents'));
    expect(intro).toMatch(/Runway is a GitHub Action/);
  });

  it('has a table of contents whose every link is a heading of the README', () => {
    const contents = localLinks(section('Contents')).filter((l) => l.target.startsWith('#'));
    expect(contents.length).toBeGreaterThanOrEqual(8);
    const anchors = new Set(headings(readme).map((h) => h.anchor));
    expect(contents.map((l) => l.target.slice(1)).filter((a) => !anchors.has(a))).toEqual([]);
    // Every section a user reads is listed: none is left out of the contents.
    const listed = new Set(contents.map((l) => l.target.slice(1)));
    expect(
      sections
        .slice(1)
        .map((h) => h.anchor)
        .filter((a) => !listed.has(a)),
    ).toEqual([]);
  });

  it('has a Prerequisites section naming the runner version, the APIs and the roles', () => {
    const prerequisites = section('Prerequisites');
    expect(prerequisites).toMatch(/2\.327\.1/);
    for (const api of ['run', 'artifactregistry', 'iam', 'iamcredentials', 'sts', 'secretmanager'])
      expect(prerequisites).toContain(`${api}.googleapis.com`);
    for (const role of [
      'roles/run.developer',
      'roles/iam.serviceAccountUser',
      'roles/artifactregistry.writer',
    ])
      expect(prerequisites).toContain(role);
  });

  it('links only to files and headings that exist, as do the contributor docs', () => {
    const docs = readdirSync(file('docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`);
    expect(docs.length).toBeGreaterThanOrEqual(4);
    const broken = ['README.md', 'CONTRIBUTING.md', ...docs].flatMap((name) => brokenLinks(file(name)));
    expect(broken).toEqual([]);
  });
});
