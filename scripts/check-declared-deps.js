#!/usr/bin/env node
/**
 * Every package declares what it imports: for the root package and each workspace listed in the
 * root package.json, every bare import (`import … from 'x'`, `export … from 'x'`, `import('x')`,
 * `require('x')`) in its source, test and config files must name a package in that package.json's
 * dependencies, devDependencies, peerDependencies or optionalDependencies. Without this, an import
 * works only because npm hoisted someone else's dependency to the root node_modules, and breaks
 * when that dependency moves or goes.
 *
 * Usage: node scripts/check-declared-deps.js [root]   (default: the repository)
 * Prints one line per undeclared import and exits 1, or prints a summary and exits 0.
 * Run by collector/test/repo/declared-deps.test.ts (so by `npm test` and CI); docs/testing.md.
 */
'use strict';
const { readFileSync, readdirSync, existsSync } = require('node:fs');
const { builtinModules } = require('node:module');
const { join, relative, resolve } = require('node:path');

const SOURCE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;
/** Build output, installed packages and caches: not the package's own code. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.cache', 'test-results', '.git', 'artifacts', 'cache']);
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));
/** npm's rule for package names (lower case, URL-safe, optional @scope/). */
const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;
/** Names that are imported but are not packages, with the reason. */
const NOT_PACKAGES = {
  'amd-module': "webpack's AMD `module` object, an external of the plugin bundle (plugin/.config/bundler/externals.ts)",
};

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"\n]+)['"]/g, // import x from 'y', export { x } from 'y'
  /\bimport\s*['"]([^'"\n]+)['"]/g, // import 'y' (side effects)
  /\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g, // import('y')
  /\brequire(?:\.resolve)?\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g, // require('y'), require.resolve('y')
];

/** Source text without block comments and // comments (which may mention imports; `://` in URLs stays). */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

/** The package a bare specifier names ('@scope/name/sub' -> '@scope/name'), or null if it names none. */
function packageOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.includes(':') || spec.includes('${') || spec === '') {
    return null; // relative, absolute, node:…/data:… URLs, template strings
  }
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTINS.has(name) || !PACKAGE_NAME.test(name) || name in NOT_PACKAGES ? null : name;
}

/** Directories below `dir` (not in node_modules and the like) that hold a package.json. */
function* packageDirs(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) {
      const p = join(dir, e.name);
      if (existsSync(join(p, 'package.json'))) {
        yield p;
      }
      yield* packageDirs(p);
    }
  }
}

/** The package's source files: below its directory, but not inside another package. */
function* sourceFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !existsSync(join(p, 'package.json'))) {
        yield* sourceFiles(p);
      }
    } else if (e.isFile() && SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) {
      yield p;
    }
  }
}

function declared(pkg) {
  return new Set(['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {})));
}

/**
 * Checks the root package, the workspaces its package.json lists, and any other package.json
 * below it (e.g. a Docker image's), each over its own files; returns the problems, one string each
 * ("<file>: imports '<package>', not declared in <package.json>"), and how many files were read.
 */
function check(root) {
  root = resolve(root);
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const workspaces = Array.isArray(rootPkg.workspaces) ? rootPkg.workspaces : (rootPkg.workspaces?.packages ?? []);
  const missing = workspaces.filter((w) => !existsSync(join(root, w, 'package.json')));
  const problems = missing.map((w) => `package.json: workspace ${w} has no package.json`);
  // The root package owns everything outside the other packages (configs, scripts, bench, dashboards).
  const dirs = [root, ...new Set([...workspaces.map((w) => resolve(root, w)), ...packageDirs(root)])].filter((d) =>
    existsSync(join(d, 'package.json')),
  );
  let files = 0;
  for (const dir of dirs) {
    const manifest = join(dir, 'package.json');
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    const ok = declared(pkg);
    for (const file of sourceFiles(dir)) {
      files++;
      const text = stripComments(readFileSync(file, 'utf8'));
      const names = new Set();
      for (const re of IMPORT_PATTERNS) {
        for (const m of text.matchAll(re)) {
          const name = packageOf(m[1]);
          if (name && name !== pkg.name) {
            names.add(name);
          }
        }
      }
      for (const name of [...names].sort()) {
        if (!ok.has(name)) {
          problems.push(`${relative(root, file)}: imports '${name}', not declared in ${relative(root, manifest)}`);
        }
      }
    }
  }
  return { problems, files, packages: dirs.length };
}

module.exports = { check, packageOf };

if (require.main === module) {
  const root = resolve(process.argv[2] ?? join(__dirname, '..'));
  const { problems, files, packages } = check(root);
  if (problems.length) {
    console.error(problems.join('\n'));
    console.error(
      `check-declared-deps: ${problems.length} undeclared import(s); add each package to the dependencies (or devDependencies, for tests and tooling) of the package.json named`,
    );
    process.exit(1);
  }
  console.log(`check-declared-deps: ${files} files in ${packages} packages import only what their package.json declares`);
}
