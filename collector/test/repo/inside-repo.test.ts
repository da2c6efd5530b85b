/**
 * No test reads outside the repository: every path a test file builds from `__dirname` (join or
 * resolve with string literals) and every relative import stays inside it, and no test names an
 * absolute path under /work, /home, /root, /srv, /opt, /mnt or /var. A plain clone must be enough.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const TEST_DIRS = ['collector/test', 'plugin/src', 'plugin/test-host', 'bench/test'];
/** Where a machine keeps other checkouts and user files; system programs (/usr/bin) and /tmp are fine. */
const OUTSIDE_ABSOLUTE = /['"`](\/(?:work|home|root|srv|opt|mnt|var)\/[^'"`\s]*)['"`]/g;
/** Paths inside the demo's container images (compose and Dockerfile checks name them), not on this machine. */
const IMAGE_PATHS = ['/var/lib/grafana'];

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', 'dist', 'test-results', 'fixtures'].includes(e.name)) {
        yield* files(p);
      }
    } else if (/\.(?:[cm]?[jt]s|tsx)$/.test(e.name)) {
      yield p;
    }
  }
}

const inside = (p: string): boolean => p === ROOT || p.startsWith(ROOT + sep);

/** Problems in one file's text (`file` is where it lives, for relative paths). */
export function outsideReferences(file: string, text: string): string[] {
  const dir = dirname(file);
  const out: string[] = [];
  const literals = (args: string): string[] | null => {
    const parts = [...args.matchAll(/\s*'([^'\n]*)'\s*(,|$)/g)].map((m) => m[1]);
    return parts.length ? parts : null;
  };
  for (const m of text.matchAll(/\b(?:join|resolve)\(\s*__dirname\s*,([^)]*)\)/g)) {
    const parts = literals(m[1]);
    if (parts && !inside(resolve(dir, ...parts))) {
      out.push(`${m[0]} leaves the repository (${resolve(dir, ...parts)})`);
    }
  }
  for (const m of text.matchAll(/\b(?:from|import|require)\s*\(?\s*'(\.{1,2}\/[^'\n]*)'/g)) {
    if (!inside(resolve(dir, m[1]))) {
      out.push(`import '${m[1]}' leaves the repository`);
    }
  }
  for (const m of text.matchAll(OUTSIDE_ABSOLUTE)) {
    if (!IMAGE_PATHS.some((p) => m[1] === p || m[1].startsWith(`${p}/`))) {
      out.push(`absolute path ${m[1]}`);
    }
  }
  return out;
}

describe('tests stay inside the repository', () => {
  test('behavior: no test file builds a path, imports a file or names an absolute path outside the repository', () => {
    const problems: string[] = [];
    for (const d of TEST_DIRS) {
      for (const f of files(join(ROOT, d))) {
        for (const p of outsideReferences(f, readFileSync(f, 'utf8'))) {
          problems.push(`${relative(ROOT, f)}: ${p}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('behavior: the check finds a path built from __dirname, an import and an absolute path outside', () => {
    // Assembled from pieces, so that this file itself holds none of these references.
    const file = join(ROOT, 'plugin/src/__tests__/x.test.ts');
    const q = (s: string): string => `'${s}'`;
    const up = ['..', '..', '..', '..'].join('/');
    const abs = ['', 'work', 'shared', 'grafana', 'plugin.schema.json'].join('/');
    const fn = 'join';
    const text = [
      `const a = ${fn}(__dirname, ${q(`${up}/shared/grafana/plugin.schema.json`)});`,
      `const b = ${fn}(__dirname, ${q('../../vendor/grafana/plugin.schema.json')});`,
      `import x from ${q(`${up}/outside`)};`,
      `const c = ${q(abs)};`,
      `const d = ${q('/usr/bin/chromium')};`,
    ].join('\n');
    const found = outsideReferences(file, text);
    expect(found).toHaveLength(3);
    expect(found[0]).toContain(`leaves the repository (${resolve(ROOT, '..', 'shared/grafana/plugin.schema.json')})`);
    expect(found[1]).toBe(`import '${up}/outside' leaves the repository`);
    expect(found[2]).toBe(`absolute path ${abs}`);
  });
});
