/** Prometheus configuration and rules, checked and unit-tested by a real promtool. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { requireBinary } from '../helpers/system-binary';
import { ROOT } from './provisioned-files';

const promtool = (args: string[]) => {
  const r = spawnSync(requireBinary('promtool'), args, { cwd: join(ROOT, 'prometheus'), encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, error: r.error };
};

describe('prometheus/', () => {
  test('promtool check config accepts prometheus.yml and finds its rule file', () => {
    const r = promtool(['check', 'config', 'prometheus.yml']);
    expect(r.error).toBeUndefined();
    expect(r.output).toContain('SUCCESS: 1 rule files found');
    expect(r.status).toBe(0);
  });

  test('promtool check rules accepts the eight generated alerting rules', () => {
    const r = promtool(['check', 'rules', 'rules.yml']);
    expect(r.output).toContain('SUCCESS: 8 rules found');
    expect(r.status).toBe(0);
  });

  test('promtool test rules: every rule fires on its series and stays quiet on the near misses', () => {
    const r = promtool(['test', 'rules', 'rules.test.yml']);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
