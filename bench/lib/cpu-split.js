'use strict';
const { readFileSync } = require('node:fs');

/**
 * How the two cores were shared during a measurement: CPU seconds used by the server process and
 * by the bench process (publisher + subscriber workers), and by everything else on the machine
 * (other processes compete for the same cores and make figures worse: the report says how much).
 */
/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat; USER_HZ = 100). */
function machineBusySeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) / 100;
}

function cpuSplit(server) {
  const m0 = machineBusySeconds();
  const s0 = server.cpuSeconds();
  const b0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return () => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const b = process.cpuUsage(b0);
    const serverCores = (server.cpuSeconds() - s0) / wall;
    const benchCores = (b.user + b.system) / 1e6 / wall;
    const machineCores = (machineBusySeconds() - m0) / wall;
    return {
      wallSeconds: round(wall),
      serverCpuSeconds: round(serverCores * wall),
      serverCores: round(serverCores),
      benchCores: round(benchCores),
      // Everything else on the machine (other processes, kernel threads): load we did not make.
      otherCores: round(Math.max(0, machineCores - serverCores - benchCores)),
    };
  };
}

function round(x) {
  return Math.round(x * 100) / 100;
}

module.exports = { cpuSplit, machineBusySeconds };
