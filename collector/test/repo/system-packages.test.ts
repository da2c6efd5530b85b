/**
 * The system packages the tests need: `npm test`'s setup step (scripts/test-setup.js) tells a
 * machine without them exactly what to install, and a test that starts a missing program fails
 * with the Debian package to install (collector/test/helpers/system-binary.ts), never ENOENT.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { debianPackageFor, requireBinary } from '../helpers/system-binary';

const ROOT = resolve(__dirname, '../../..');
const BINARIES = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'scripts/system-packages.json'), 'utf8')) as { binaries: Record<string, string> }).binaries,
);

describe('system packages', () => {
  let empty: string;
  let fakes: string;
  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'sg-path-empty-'));
    // A directory holding an executable stand-in for every listed binary.
    fakes = mkdtempSync(join(tmpdir(), 'sg-path-fakes-'));
    for (const b of BINARIES) {
      writeFileSync(join(fakes, b), '#!/bin/sh\n');
      chmodSync(join(fakes, b), 0o755);
    }
  });
  afterAll(() => {
    rmSync(empty, { recursive: true, force: true });
    rmSync(fakes, { recursive: true, force: true });
  });

  const setup = (path: string) =>
    spawnSync(process.execPath, [join(ROOT, 'scripts/test-setup.js'), '--check'], { cwd: ROOT, encoding: 'utf8', env: { PATH: path } });

  test('behavior: the setup check names every missing Debian package once and prints the exact apt-get command', () => {
    const r = setup(empty);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('missing: prometheus, redis-server, chromium, docker-compose.');
    expect(r.stderr).toContain('sudo apt-get update && sudo apt-get install -y prometheus redis-server chromium docker-compose');
  });

  test('behavior: the setup check passes when every binary is on PATH', () => {
    const r = setup(fakes);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('and node_modules are present');
    expect(r.status).toBe(0);
  });

  test('behavior: a missing binary fails with its Debian package, not spawn ENOENT', () => {
    expect(() => requireBinary('promtool', empty)).toThrow(
      "promtool not found on PATH: the tests need Debian's prometheus package. Install it with `sudo apt-get install -y prometheus`",
    );
    expect(requireBinary('redis-server', `${empty}:${fakes}`)).toBe(join(fakes, 'redis-server'));
  });

  test('errors: a binary missing from scripts/system-packages.json is a mistake in the test, named as such', () => {
    expect(debianPackageFor('chromium')).toBe('chromium');
    expect(() => debianPackageFor('nginx')).toThrow('nginx: not in scripts/system-packages.json');
  });
});
