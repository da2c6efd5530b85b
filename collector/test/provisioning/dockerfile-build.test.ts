/**
 * The images docker-compose.yml builds, built without Docker (no engine in CI): every Dockerfile
 * compose names runs its COPY/RUN steps in a clean temporary directory, with the build context a
 * fresh clone would send (committed files minus .dockerignore; dockerfile-steps.ts). The Grafana
 * image must come out with the built plugin (module.js and plugin.json) where Grafana loads it.
 *
 * npm runs offline from the machine's npm cache and without install scripts (they download native
 * binaries, e.g. better-sqlite3's prebuilt module, which the builds checked here do not use).
 * Heavy (a full `npm ci` per workspace image and the plugin's webpack build): run through
 * /work/bin/heavy, or as part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildContext, dockerignore, runDockerfile, type DockerfileRun } from './dockerfile-steps';
import { ROOT } from './provisioned-files';

jest.setTimeout(900_000);

const NPM_OFFLINE = ['--offline', '--prefer-offline', '--ignore-scripts', '--loglevel=error'];

/** Compose's builds: service → { context, dockerfile } relative to the repository. */
function composeBuilds(): Map<string, { context: string; dockerfile: string }> {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  const builds = new Map<string, { context: string; dockerfile: string }>();
  for (const [name, s] of Object.entries<any>(compose.services)) {
    if (s.build) {
      const b = typeof s.build === 'string' ? { context: s.build } : s.build;
      builds.set(name, { context: b.context.replace(/^\.\/?/, '') || '.', dockerfile: b.dockerfile ?? 'Dockerfile' });
    }
  }
  return builds;
}

describe('.dockerignore matching', () => {
  test('patterns match as Docker matches them: parent directories, ** at any depth, ! re-includes, last match wins', () => {
    const ignored = dockerignore('**/node_modules\n**/dist\ndocs\nplugin\n!plugin/package.json\n*.log\n');
    expect(ignored('node_modules/x/index.js')).toBe(true);
    expect(ignored('plugin/node_modules/react/index.js')).toBe(true);
    expect(ignored('plugin/dist/module.js')).toBe(true);
    expect(ignored('docs/demo.md')).toBe(true);
    expect(ignored('collector/docs/x.md')).toBe(false);
    expect(ignored('plugin/src/module.ts')).toBe(true);
    expect(ignored('plugin/package.json')).toBe(false);
    expect(ignored('a.log')).toBe(true);
    expect(ignored('collector/a.log')).toBe(false);
  });

  test("the repository's context holds the plugin sources and no local state", () => {
    const files = buildContext(ROOT, '.');
    expect(files).toEqual(
      expect.arrayContaining(['plugin/src/module.ts', 'plugin/src/plugin.json', 'protocol/src/index.ts', 'package-lock.json']),
    );
    expect(files.filter((f) => /(^|\/)(node_modules|dist|data)\//.test(f))).toEqual([]);
  });
});

describe('the images docker-compose.yml builds', () => {
  const builds = composeBuilds();
  let out: string;
  const runs = new Map<string, DockerfileRun>();

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'sg-docker-'));
    // chain and chain-traffic share one image: build each Dockerfile once.
    const seen = new Set<string>();
    for (const [service, b] of builds) {
      const key = `${b.context}:${b.dockerfile}`;
      if (seen.has(key)) {
        continue;
      }
      seen.add(key);
      runs.set(
        service,
        runDockerfile({
          repo: ROOT,
          context: b.context,
          dockerfile: b.dockerfile,
          out: join(out, service),
          npmArgs: NPM_OFFLINE,
          timeoutMs: 600_000,
        }),
      );
    }
  });

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('compose builds the collector, the chain and Grafana', () => {
    expect([...builds.keys()].sort()).toEqual(['chain', 'chain-traffic', 'collector', 'grafana']);
  });

  test('the Grafana image holds the built plugin (module.js and plugin.json) under its id in GF_PATHS_PLUGINS', () => {
    const run = runs.get('grafana')!;
    const final = run.stages[run.stages.length - 1];
    const pluginJson = JSON.parse(readFileSync(join(ROOT, 'plugin/src/plugin.json'), 'utf8'));
    const dir = join(final.root, final.env.GF_PATHS_PLUGINS, pluginJson.id);
    expect(existsSync(join(dir, 'module.js'))).toBe(true);
    const built = JSON.parse(readFileSync(join(dir, 'plugin.json'), 'utf8'));
    expect(built.id).toBe(pluginJson.id);
    // The build filled in the version placeholders.
    expect(built.info.version).not.toBe('%VERSION%');
    // The bundle is Grafana's AMD module format and includes the protocol package (no runtime import of it).
    const moduleJs = readFileSync(join(dir, 'module.js'), 'utf8');
    expect(moduleJs).toMatch(/^(\/\*[\s\S]*?\*\/\s*)?define\(/);
    expect(moduleJs).not.toContain('@streamgauge/protocol"');
  });

  test('the collector image stage builds the collector (dist/main.js) from the committed sources', () => {
    const run = runs.get('collector')!;
    const build = run.stages.find((s) => s.name === 'build')!;
    expect(existsSync(join(build.root, build.workdir, 'collector/dist/main.js'))).toBe(true);
    expect(existsSync(join(build.root, build.workdir, 'protocol/dist/index.js'))).toBe(true);
  });

  test('the chain image installs hardhat, solc and viem from its lock file and the traffic script loads them', () => {
    const run = runs.get('chain')!;
    const stage = run.stages[run.stages.length - 1];
    const dir = join(stage.root, stage.workdir);
    expect(run.log.some((l) => l.startsWith('RUN npm ci'))).toBe(true);
    const r = spawnSync(process.execPath, ['-e', "for (const p of ['hardhat/package.json', 'solc', 'viem']) require.resolve(p)"], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
