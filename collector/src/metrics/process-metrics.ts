/**
 * Process metrics under names that pass `promtool check metrics`. prom-client's
 * collectDefaultMetrics() emits gauges ending in `_total` (nodejs_active_handles_total…), which
 * promtool 2.42 rejects with no flag to relax it, so we expose the few that matter ourselves.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';

export function registerProcessMetrics(registry: Registry): () => void {
  const r = [registry];
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();

  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent, in seconds.',
    registers: r,
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: r,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch, in seconds.',
    registers: r,
    collect() {
      this.set(startSeconds);
    },
  });
  new Gauge({
    name: 'nodejs_heap_used_bytes',
    help: 'V8 heap in use, in bytes.',
    registers: r,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'nodejs_eventloop_lag_p99_seconds',
    help: '99th percentile of event-loop delay since the previous scrape, in seconds.',
    registers: r,
    collect() {
      this.set(loop.count > 0 ? loop.percentile(99) / 1e9 : 0);
      loop.reset();
    },
  });
  return () => loop.disable();
}
