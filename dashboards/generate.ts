/**
 * Writes the generated provisioning files. Usage: npm run dashboards [-- --out DIR]
 * (default: the repository root). CI regenerates into a temp dir and compares.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildAll } from './src/build-all';
import { validateProvisioningFiles } from './src/grafana-validation';

const i = process.argv.indexOf('--out');
const root = i > 0 ? resolve(process.argv[i + 1]) : resolve(__dirname, '..');
const files = buildAll();
// Grafana exits at start on any provisioning error: refuse to write files it would reject.
const errors = validateProvisioningFiles(files);
if (errors.length > 0) {
  process.stderr.write(`Grafana would reject the generated provisioning:\n${errors.map((e) => `  ${e}\n`).join('')}`);
  process.exit(1);
}
for (const [rel, content] of files) {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  process.stdout.write(`wrote ${rel}\n`);
}
