'use strict';
/**
 * Plugin: runs bench/plugin/frame-builder-bench.ts in its own Node process (tsx, jsdom globals for
 * @grafana/data, --expose-gc for the memory figures) and returns its JSON line.
 */
const { execFile } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { ROOT } = require('../lib/server-process');

const BUILDER = join(ROOT, 'plugin/src/stream/frame-builder.ts');

function runPlugin(ctx) {
  if (!existsSync(BUILDER)) {
    return Promise.resolve({ notMeasured: 'plugin/src/stream/frame-builder.ts is not there' });
  }
  const args = ['--expose-gc', '--require', join(__dirname, '../plugin/node-globals.js'), '--import', 'tsx', join(__dirname, '../plugin/frame-builder-bench.ts')];
  if (ctx.quick) args.push('quick');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`frame-builder bench failed: ${err.message}\n${stderr.slice(-2000)}`));
        return;
      }
      const line = stdout.trim().split('\n').pop();
      resolve(JSON.parse(line));
    });
  });
}

module.exports = { runPlugin };
