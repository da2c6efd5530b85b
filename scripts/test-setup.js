#!/usr/bin/env node
/**
 * First step of `npm test` (and so of .ci/run, which runs `npm test`): makes sure the machine has
 * what the integration tests start, so that a fresh machine either gets it or is told exactly what
 * to run, instead of failing tests with a bare `spawn … ENOENT`.
 *
 * 1. The Debian packages in scripts/system-packages.json (prometheus, redis-server, chromium,
 *    docker-compose): when one is missing, as root it runs `apt-get update` and
 *    `apt-get install -y <packages>`; otherwise it prints the exact command and exits 1.
 * 2. node_modules: `npm ci` when it was never installed (a fresh clone).
 *
 * `node scripts/test-setup.js --check` only reports (exit 1 when something is missing).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { accessSync, constants, existsSync, readFileSync } = require('node:fs');
const { delimiter, join } = require('node:path');

const ROOT = join(__dirname, '..');
const checkOnly = process.argv.includes('--check');
const { binaries } = JSON.parse(readFileSync(join(__dirname, 'system-packages.json'), 'utf8'));

function onPath(binary) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The Debian packages whose binaries are missing, each once. */
function missingPackages() {
  return [...new Set(Object.entries(binaries).filter(([bin]) => !onPath(bin)).map(([, pkg]) => pkg))];
}

function run(cmd, args, env = {}) {
  console.log(`test-setup: ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, env: { ...process.env, ...env } }).status === 0;
}

let missing = missingPackages();
if (missing.length) {
  const command = `apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (checkOnly || !isRoot) {
    console.error(
      `test-setup: the integration tests need Debian packages that are missing: ${missing.join(', ')}.\n` +
        `Install them, then run npm test again:\n\n  sudo apt-get update && sudo ${command}\n`,
    );
    process.exit(1);
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (!run('apt-get', ['update', '-qq'], env) || !run('apt-get', ['install', '-y', '-qq', ...missing], env)) {
    console.error(`test-setup: apt-get failed; install the packages by hand: ${command}`);
    process.exit(1);
  }
  missing = missingPackages();
  if (missing.length) {
    console.error(`test-setup: still missing after apt-get: ${missing.join(', ')} (scripts/system-packages.json)`);
    process.exit(1);
  }
}

// npm writes node_modules/.package-lock.json on every install: its absence means never installed.
if (!existsSync(join(ROOT, 'node_modules', '.package-lock.json'))) {
  if (checkOnly) {
    console.error('test-setup: node_modules is not installed: run npm ci');
    process.exit(1);
  }
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    console.error('test-setup: npm ci failed');
    process.exit(1);
  }
}
console.log(`test-setup: ${Object.keys(binaries).join(', ')} and node_modules are present`);
