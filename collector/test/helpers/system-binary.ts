/**
 * Finds a program the tests start (prometheus, redis-server, chromium, …) and, when it is missing,
 * fails with the Debian package to install instead of a bare `spawn … ENOENT`.
 * The binary → package table is shared with scripts/test-setup.js (npm test, .ci/run).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

const TABLE = resolve(__dirname, '../../../scripts/system-packages.json');
const PACKAGES = (JSON.parse(readFileSync(TABLE, 'utf8')) as { binaries: Record<string, string> }).binaries;

/** The Debian package that provides `binary` (throws for a binary the table does not list). */
export function debianPackageFor(binary: string): string {
  const pkg = PACKAGES[binary];
  if (!pkg) {
    throw new Error(`${binary}: not in scripts/system-packages.json; add it there with its Debian package`);
  }
  return pkg;
}

/** The message a test fails with when `binary` is missing. */
export function missingBinaryMessage(binary: string): string {
  const pkg = debianPackageFor(binary);
  return (
    `${binary} not found on PATH: the tests need Debian's ${pkg} package. ` +
    `Install it with \`sudo apt-get install -y ${pkg}\`, or run \`npm test\`, which checks every system package first (docs/testing.md).`
  );
}

/** Absolute path of `binary` on PATH; throws missingBinaryMessage() when it is not there. */
export function requireBinary(binary: string, path = process.env.PATH ?? ''): string {
  debianPackageFor(binary);
  for (const dir of path.split(delimiter)) {
    if (!dir) {
      continue;
    }
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(missingBinaryMessage(binary));
}
