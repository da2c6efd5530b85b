'use strict';
/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time, so the
 * report can say what limits a figure without opening DevTools.
 */
const { readFileSync } = require('node:fs');

function topFunctions(path, n = 15) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]);
    const d = dt[i] || 0;
    total += d;
    const cf = node.callFrame;
    const file = cf.url ? cf.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/work\/main\//, '') : '';
    const key = `${cf.functionName || '(anonymous)'} ${file}${file ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) || 0) + d);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ fn, selfMs: Math.round(us / 1000), share: Math.round((us / total) * 1000) / 10 }));
}

module.exports = { topFunctions };

if (require.main === module) {
  for (const r of topFunctions(process.argv[2], Number(process.argv[3] || 25))) {
    process.stdout.write(`${String(r.share).padStart(5)}%  ${String(r.selfMs).padStart(6)} ms  ${r.fn}\n`);
  }
}
