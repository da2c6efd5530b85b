/**
 * @jest-environment node
 */
// API compatibility of the plugin's module with both Grafana lines it claims (grafanaDependency):
// @grafana/levitate compares what src/module.ts uses against @grafana/{data,ui,runtime} 12.4.10 and
// 13.2.2, read from the npm registry. The script fails on any incompatibility or skipped check.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('behavior: levitate finds src/module.ts compatible with Grafana 12.4.10 and 13.2.2, with no check skipped', () => {
  const r = spawnSync('sh', [join(__dirname, '../../scripts/levitate.sh')], { encoding: 'utf8', timeout: 600_000 });
  const out = `${r.stdout}${r.stderr}`;
  expect(out).toContain(
    'src/module.ts appears to be compatible with @grafana/data@12.4.10,@grafana/ui@12.4.10,@grafana/runtime@12.4.10'
  );
  expect(out).toContain(
    'src/module.ts appears to be compatible with @grafana/data@13.2.2,@grafana/ui@13.2.2,@grafana/runtime@13.2.2'
  );
  expect(out).not.toContain('Skipping package');
  expect(r.status).toBe(0);
}, 700_000);
