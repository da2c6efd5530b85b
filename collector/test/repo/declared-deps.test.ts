/**
 * Every package declares what it imports (scripts/check-declared-deps.js): the repository passes,
 * and the check finds each kind of undeclared import in a small made-up workspace.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const SCRIPT = join(ROOT, 'scripts/check-declared-deps.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { check } = require(SCRIPT) as { check(root: string): { problems: string[]; files: number; packages: number } };

describe('declared dependencies', () => {
  test('behavior: every workspace (and the root, and deploy/chain) imports only packages its package.json declares', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^check-declared-deps: \d+ files in \d+ packages import only what their package.json declares\n$/);
    expect(r.status).toBe(0);
  });

  describe('on a made-up workspace', () => {
    let dir: string;
    const write = (path: string, text: string): void => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sg-deps-'));
      write('package.json', JSON.stringify({ name: 'root', workspaces: ['a', 'b'], devDependencies: { jest: '1' } }));
      write('a/package.json', JSON.stringify({ name: '@x/a', dependencies: { declared: '1' }, peerDependencies: { peer: '1' } }));
      // Import lines are assembled from pieces, so that this file itself imports none of these names.
      const q = (spec: string): string => `'${spec}'`;
      write(
        'a/src/index.ts',
        [
          `import { one } from ${q('declared')};`,
          `import type { Two } from ${q('declared/sub/path')};`,
          `import {\n  three,\n} from ${q('@scope/undeclared/deep')};`,
          `export { four } from ${q('peer')};`,
          `import ${q('side-effect')};`,
          `const lazy = () => import(${q('lazy-one')});`,
          `const fs = require(${q('node:fs')}), path = require(${q('path')});`,
          `import { mine } from ${q('@x/a/internal')};`,
          `import { rel } from ${q('./relative')};`,
          `// import { commented } from ${q('in-a-comment')};`,
          `/* require(${q('in-a-block-comment')}) */`,
          `const url = 'http://example.com/x'; // require(${q('trailing-comment')})`,
        ].join('\n'),
      );
      write('a/dist/index.js', `require(${q('built-output-is-not-checked')});`);
      write('a/node_modules/declared/index.js', `require(${q('installed-code-is-not-checked')});`);
      write('tools/run.js', `require(${q('jest')}); require(${q('root-undeclared')});`);
      // A package that is not a workspace (e.g. a Docker image's) is checked against its own package.json.
      write('image/package.json', JSON.stringify({ name: 'image', dependencies: { viem: '1' } }));
      write('image/traffic.js', `require(${q('viem')}); require(${q('not-in-image')});`);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('behavior: reports each undeclared package once per file, against the package.json that owns the file', () => {
      const r = check(dir);
      expect(r.problems.sort()).toEqual(
        [
          "a/src/index.ts: imports '@scope/undeclared', not declared in a/package.json",
          "a/src/index.ts: imports 'lazy-one', not declared in a/package.json",
          "a/src/index.ts: imports 'side-effect', not declared in a/package.json",
          "image/traffic.js: imports 'not-in-image', not declared in image/package.json",
          'package.json: workspace b has no package.json',
          "tools/run.js: imports 'root-undeclared', not declared in package.json",
        ].sort(),
      );
      expect(r.packages).toBe(3);
    });

    test('behavior: the command exits 1 and prints the problems', () => {
      const r = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("tools/run.js: imports 'root-undeclared', not declared in package.json");
      expect(r.stderr).toContain('check-declared-deps: 6 undeclared import(s)');
    });
  });
});
