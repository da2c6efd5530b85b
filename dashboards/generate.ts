/**
 * Writes the generated provisioning files. Usage: npm run dashboards [-- --out DIR]
 * (default: the repository root). CI regenerates into a temp dir and compares.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildAll } from './src/build-all';

const i = process.argv.indexOf('--out');
const root = i > 0 ? resolve(process.argv[i + 1]) : resolve(__dirname, '..');
for (const [rel, content] of buildAll()) {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  process.stdout.write(`wrote ${rel}\n`);
}
