/**
 * Lint, format and type checks of the whole workspace, so that `npm test` (and CI) fails on them
 * like on any other broken behaviour. Each runs the project's own configuration.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

function run(cmd: string, args: string[], cwd = ROOT): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/npm warn .*\n/g, '') };
}

const npx = (args: string[], cwd?: string) => run('npx', ['--no-install', ...args], cwd);

describe('static checks', () => {
  test('behavior: eslint finds no problem in collector, protocol, sdk, bench and dashboards', () => {
    const r = npx(['eslint', '--max-warnings=0', 'collector', 'protocol', 'sdk', 'bench', 'dashboards']);
    expect(r.output.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  test("behavior: the plugin passes the scaffold's eslint config", () => {
    const r = npx(['eslint', '.'], resolve(ROOT, 'plugin'));
    expect(r.output).not.toMatch(/\d+ problems?/);
    expect(r.status).toBe(0);
  });

  test('behavior: sources are formatted as prettier would', () => {
    const r = npx(['prettier', '--check', 'collector/src', 'collector/test', 'protocol/src', 'sdk/src']);
    expect(r.output).toContain('All matched files use Prettier code style!');
    const p = npx(['prettier', '--check', 'src', 'test-host'], resolve(ROOT, 'plugin'));
    expect(p.output).toContain('All matched files use Prettier code style!');
  });

  test.each([
    ['collector (sources and tests)', 'collector/tsconfig.json'],
    ['protocol', 'protocol/tsconfig.json'],
    ['sdk', 'sdk/tsconfig.json'],
    ['plugin (sources and tests)', 'plugin/tsconfig.json'],
    ['plugin test host page', 'plugin/test-host/tsconfig.json'],
  ])('behavior: %s type-checks under strict TypeScript', (_name, project) => {
    const r = npx(['tsc', '-p', project, '--noEmit']);
    expect(r.output.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
