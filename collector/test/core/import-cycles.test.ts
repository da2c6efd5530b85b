/**
 * Layers point one way (docs/ARCHITECTURE in /work/shared, STYLE.md): no module of collector/src
 * may reach itself through its imports. Walks the relative imports of every .ts file (type-only
 * imports included: they tie the layers just the same).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/g)) {
    const base = resolve(dirname(file), m[1]);
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) {
          out.push(candidate);
          break;
        }
      } catch {
        // not this one
      }
    }
  }
  return out;
}

/** Every cycle found by depth-first search, as a list of paths relative to src/. */
export function findCycles(all: string[]): string[][] {
  const graph = new Map(all.map((f) => [f, importsOf(f)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(g)), g].map((p) => relative(SRC, p)));
      } else if (!state.has(g)) {
        visit(g);
      }
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of all) {
    if (!state.has(f)) {
      visit(f);
    }
  }
  return cycles;
}

describe('collector layers', () => {
  test('behavior: no import cycle in collector/src', () => {
    expect(findCycles(files(SRC))).toEqual([]);
  });

  test('behavior: config/ imports no feature (only errors and protocol), http/ nothing of transport/, auth/ nothing of http/', () => {
    const offending: string[] = [];
    for (const f of files(SRC)) {
      const rel = relative(SRC, f);
      for (const g of importsOf(f).map((p) => relative(SRC, p))) {
        const configReachesOut = rel.startsWith('config/') && !g.startsWith('config/') && g !== 'errors.ts';
        const httpReachesTransport = rel.startsWith('http/') && g.startsWith('transport/');
        const authReachesHttp = rel.startsWith('auth/') && g.startsWith('http/');
        if (configReachesOut || httpReachesTransport || authReachesHttp) {
          offending.push(`${rel} -> ${g}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
