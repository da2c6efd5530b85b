/**
 * @jest-environment node
 */
// API compatibility of the plugin's module with the Grafana versions it claims (grafanaDependency
// in src/plugin.json): @grafana/levitate compares what src/module.ts uses against
// @grafana/{data,ui,runtime} at the lowest version grafanaDependency allows, the newest 12.x and
// the newest complete 13.x, read from the npm registry (plugin/scripts/levitate.sh). It fails on
// any incompatibility or skipped check.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const pluginJson = JSON.parse(readFileSync(join(__dirname, '../plugin.json'), 'utf8'));
const script = readFileSync(join(__dirname, '../../scripts/levitate.sh'), 'utf8');
const checked = /^VERSIONS="([^"]+)"$/m.exec(script)![1].split(' ');

test('the versions levitate checks start at the lowest one grafanaDependency allows and cover 12.x and 13.x', () => {
  const lowest = /^>=(\d+\.\d+\.\d+)$/.exec(pluginJson.dependencies.grafanaDependency)![1];
  expect(checked[0]).toBe(lowest);
  expect(checked.some((v) => v.startsWith('12.'))).toBe(true);
  expect(checked.some((v) => v.startsWith('13.'))).toBe(true);
});

test('behavior: levitate finds src/module.ts compatible with every checked Grafana version, with no check skipped', () => {
  const r = spawnSync('sh', [join(__dirname, '../../scripts/levitate.sh')], { encoding: 'utf8', timeout: 900_000 });
  const out = `${r.stdout}${r.stderr}`;
  for (const v of checked) {
    expect(out).toContain(
      `src/module.ts appears to be compatible with @grafana/data@${v},@grafana/ui@${v},@grafana/runtime@${v}`
    );
  }
  expect(out).not.toContain('Skipping package');
  expect(r.status).toBe(0);
}, 1_000_000);
