'use strict';
/**
 * Browser: runs bench/browser/pipe-bench.ts in its own Node process (tsx) and returns its JSON line.
 * It needs the built plugin (plugin/dist/module.js): built here first when missing or older than
 * plugin/src, so that the bench never measures a stale plugin or silently skips.
 */
const { execFile, execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { ROOT } = require('../lib/server-process');

const MODULE = join(ROOT, 'plugin/dist/module.js');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** opts.profile: a CPU profile of the page per measured window into ctx.profileDir (pipe-bench.ts). */
function runBrowser(ctx, opts = {}) {
  if (!existsSync(MODULE) || statSync(MODULE).mtimeMs < newestMtime(join(ROOT, 'plugin/src'))) {
    ctx.log('    building the plugin (plugin/dist is missing or older than plugin/src)');
    execFileSync('npm', ['run', 'build', '-w', 'plugin'], { cwd: ROOT, stdio: 'ignore', timeout: 600_000 });
  }
  const args = ['--import', 'tsx', join(__dirname, '../browser/pipe-bench.ts')];
  if (ctx.quick) args.push('quick');
  if (opts.profile) args.push(`profile=${ctx.profileDir}`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 300_000, maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`browser pipe bench failed: ${err.message}\n${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

module.exports = { runBrowser };
