'use strict';
/**
 * Turns the results of one run into the summary table (figures next to their baselines and
 * targets) and writes BENCHMARKS.md. The file is generated: edit this code, not the file.
 */
const os = require('node:os');
const { writeFileSync } = require('node:fs');

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    /** Scheduling priority the benchmark ran at (bench/run.js raises it with nice when it may). */
    niceness: os.getPriority(),
  };
}

const ms = (x) => (x === null || x === undefined ? '-' : `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x)} ms`);
const num = (x) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
const lat = (l) => (l && l.n ? `p50 ${ms(l.p50)} / p99 ${ms(l.p99)} / max ${ms(l.max)}` : '-');
const kb = (b) => (b === null || b === undefined ? '-' : `${(b / 1024).toFixed(1)} KB`);
const met = (ok) => (ok === null || ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met');
const NAMES = { collector: 'Streamgauge', ws: 'bare ws', 'ws-buffer': 'bare ws, one Buffer', socketio: 'Socket.IO' };

function summaryRows(r) {
  const s = r.suites;
  const rows = [];
  const errorRow = (name, label) => rows.push({ benchmark: label, streamgauge: `FAILED: ${(r.errors[name] || '').split('\n')[0]}`, baselines: '-', target: '-', met: 'not measured' });

  if (s.latency) {
    for (const rate of [...new Set(s.latency.map((x) => x.rate))]) {
      const by = (k) => s.latency.find((x) => x.rate === rate && x.system === k);
      const c = by('collector');
      const w = by('ws');
      const io = by('socketio');
      const target = rate === 10_000 ? 'p99 < 5 ms' : '-';
      rows.push({
        benchmark: `Publish-to-deliver latency, ${num(rate)} msg/s, 100 subscribers`,
        streamgauge: c ? lat(c.latencyMs) : '-',
        baselines: [w && `bare ws: ${lat(w.latencyMs)}`, io && `Socket.IO: ${lat(io.latencyMs)}`, c && `5 s snapshot: ${lat(c.snapshotMs)}`].filter(Boolean).join('<br>'),
        target,
        met: rate === 10_000 && c ? met(c.latencyMs.p99 !== null && c.latencyMs.p99 < 5 && c.deliveredRatio === 1) : 'n/a',
      });
    }
  } else if (r.errors.latency) errorRow('latency', 'Publish-to-deliver latency');

  if (s.fanout) {
    const by = (k) => s.fanout.find((x) => x.system === k);
    const c = by('collector');
    const w = by('ws');
    const ratio = c && w && w.maxDelivered ? c.maxDelivered / w.maxDelivered : null;
    // Server CPU per million deliveries at a step every system passed: unlike the ceiling, it does
    // not move with what else runs on the machine.
    const passedBy = (x, rate) => x && x.steps.some((st) => st.rate === rate && st.pass);
    const ref = [2_000, 1_000, 500].find((rate) => s.fanout.every((x) => passedBy(x, rate)));
    const cpuAt = (x) => {
      const st = ref && x ? x.steps.find((y) => y.rate === ref) : null;
      return st ? `; ${ms(st.serverCpuMsPerMillion)} server CPU per 1M deliveries at ${num(ref)} msg/s` : '';
    };
    const cap = (x) => (x ? `${num(x.maxDelivered)}/s${x.ceilingHit ? '' : ' (highest step tried)'}${cpuAt(x)}` : '-');
    rows.push({
      benchmark: 'Fan-out: delivered msg/s, 1,000 subscribers, no loss',
      streamgauge: c ? `${num(c.maxDelivered)}/s${c.ceilingHit ? '' : ' (highest step tried)'}${ratio !== null ? ` (${ratio.toFixed(2)} of bare ws)` : ''}${cpuAt(c)}` : '-',
      baselines: ['ws', 'ws-buffer', 'socketio'].map((k) => by(k) && `${NAMES[k]}: ${cap(by(k))}`).filter(Boolean).join('<br>'),
      target: '>= 1,000,000/s and >= 0.8 of bare ws',
      met: c ? met(c.maxDelivered >= 1_000_000 && (ratio === null || ratio >= 0.8)) : 'n/a',
    });
  } else if (r.errors.fanout) errorRow('fanout', 'Fan-out');

  if (s.connections) {
    const c = s.connections.find((x) => x.system === 'collector');
    const w = s.connections.find((x) => x.system === 'ws');
    rows.push({
      benchmark: `Memory per idle WebSocket, ${num(c ? c.connections : 0)} connections`,
      streamgauge: c ? `${kb(c.rssPerConnection)} RSS (${kb(c.heapPerConnection)} V8 heap)` : '-',
      baselines: w ? `bare ws: ${kb(w.rssPerConnection)} RSS` : '-',
      target: '< 15 KB',
      met: c ? met(c.rssPerConnection < 15 * 1024) : 'n/a',
    });
  } else if (r.errors.connections) errorRow('connections', 'Memory per idle connection');

  if (s.ingest) {
    rows.push({
      benchmark: `Ingest into SQLite, batches of ${num(s.ingest.batch)}, acknowledged when stored`,
      streamgauge: `${num(s.ingest.messagesPerSecond)} msg/s (${num(s.ingest.messagesPerCpuSecond)} per collector CPU second)${s.ingest.withIds ? `; with publish ids ${num(s.ingest.withIds.messagesPerSecond)} msg/s (${num(s.ingest.withIds.messagesPerCpuSecond)} per CPU second)` : ''}`,
      baselines: '-',
      target: '>= 100,000 msg/s',
      met: met(s.ingest.messagesPerSecond >= 100_000 && s.ingest.failedRequests === 0),
    });
  } else if (r.errors.ingest) errorRow('ingest', 'Ingest');

  if (s.recovery) {
    const x = s.recovery;
    rows.push({
      benchmark: `Recovery of ${num(x.clients)} clients after a restart`,
      streamgauge: `${ms(x.resumeMsFromReady)} from ready (${ms(x.resumeMsFromStop)} from SIGTERM), ${x.gaps} gaps, ${x.duplicates} duplicates`,
      baselines: '-',
      target: '< 5 s, 0 gaps, 0 duplicates',
      met: met(x.caughtUp && x.allAtFinalOffset && x.resumeMsFromReady < 5_000 && x.gaps === 0 && x.duplicates === 0),
    });
  } else if (r.errors.recovery) errorRow('recovery', 'Recovery');

  if (s.scrape) {
    const x = s.scrape;
    rows.push({
      benchmark: `/metrics with ${x.channels} channels, under load`,
      streamgauge: `${lat(x.renderMs)} (client side); server mean ${ms(x.serverMeanMs)}`,
      baselines: '-',
      target: '< 10 ms (server mean and client p50)',
      // The render is the collector's work: judged on its own mean and the client-side median; the
      // client-side p99 also holds time spent queued behind deliveries on the same event loop.
      met: met(x.renderMs.p50 !== null && x.renderMs.p50 < 10 && x.serverMeanMs !== null && x.serverMeanMs < 10),
    });
  } else if (r.errors.scrape) errorRow('scrape', '/metrics render');

  if (s.plugin) {
    if (s.plugin.notMeasured) {
      rows.push({ benchmark: 'Plugin: rows/s, memory', streamgauge: `not measured: ${s.plugin.notMeasured}`, baselines: '-', target: '>= 500,000 rows/s', met: 'not measured' });
    } else {
      const t100 = s.plugin.throughput.find((x) => x.perFrame === 100 && !x.maxLength);
      const t1 = s.plugin.throughput.find((x) => x.perFrame === 1);
      const big = s.plugin.throughput.find((x) => x.maxLength === 100_000);
      rows.push({
        benchmark: 'Plugin: socket message to frame (rows/s)',
        streamgauge: `${num(t100.rowsPerCpuSecond)} rows per CPU second, ${num(t100.rowsPerSecond)} rows/s wall (100-message frames, 1,000-row buffer)`,
        baselines: `1-message frames: ${num(t1.rowsPerCpuSecond)} rows per CPU s<br>100,000-row buffer: ${num(big.rowsPerCpuSecond)} rows per CPU s`,
        target: '>= 500,000 rows/s (per CPU second: a browser tab has its core)',
        met: met(t100.rowsPerCpuSecond >= 500_000),
      });
      rows.push({
        benchmark: 'Plugin: memory with a full buffer',
        streamgauge: s.plugin.memory.map((m) => `${num(m.maxLength)} rows: ${kb(m.heapBytes)} (${m.bytesPerRow} B/row)`).join('<br>'),
        baselines: '-',
        target: '-',
        met: 'n/a',
      });
    }
  } else if (r.errors.plugin) errorRow('plugin', 'Plugin');

  if (s.chain) {
    rows.push(
      s.chain.notMeasured
        ? { benchmark: 'Chain: new head to WebSocket', streamgauge: `not measured: ${s.chain.notMeasured}`, baselines: '-', target: '-', met: 'not measured' }
        : { benchmark: `Chain: new head to WebSocket (hardhat, ${s.chain.blocks} blocks)`, streamgauge: `${lat(s.chain.latencyMs)}${s.chain.missing ? `, ${s.chain.missing} missing` : ''}`, baselines: '-', target: '-', met: 'n/a' },
    );
  } else if (r.errors.chain) errorRow('chain', 'Chain');

  if (s.redis) {
    rows.push(
      s.redis.notMeasured
        ? { benchmark: 'Redis store: deliveries/s, 1 and 3 instances', streamgauge: `not measured: ${s.redis.notMeasured}`, baselines: '-', target: '-', met: 'not measured' }
        : {
            benchmark: 'Redis store: highest deliveries/s with no loss, ~100 subscribers spread over the instances',
            streamgauge: s.redis.runs.map((x) => `${x.instances} instance${x.instances > 1 ? 's' : ''}: ${num(x.deliveredPerSecond)}/s (${num(x.publishedPerSecond)} msg/s published${x.ceilingHit ? '' : ', highest step tried'})${x.complete ? '' : ' (no step passed)'}`).join('<br>'),
            baselines: '-',
            target: '-',
            met: 'n/a',
          },
    );
  } else if (r.errors.redis) errorRow('redis', 'Redis store');
  return rows;
}

function renderTable(rows) {
  const lines = ['| Benchmark | Streamgauge | Baselines (same run, same machine) | Target | |', '|---|---|---|---|---|'];
  for (const x of rows) lines.push(`| ${x.benchmark} | ${x.streamgauge} | ${x.baselines} | ${x.target} | ${x.met} |`);
  return lines.join('\n');
}

function cpuNote(c) {
  return c ? `server ${c.serverCores}, bench ${c.benchCores}, other ${c.otherCores}` : '-';
}

function details(r) {
  const s = r.suites;
  const out = [];
  if (s.latency) {
    out.push('### Latency', '', '| System | Rate | Batch | p50 | p99 | max | delivered | gaps/dups | cores used (server / bench / other) |', '|---|---|---|---|---|---|---|---|---|');
    for (const x of s.latency) {
      out.push(`| ${NAMES[x.system]} | ${num(x.rate)}/s (achieved ${num(x.achievedRate)}) | ${x.batchSize} | ${ms(x.latencyMs.p50)} | ${ms(x.latencyMs.p99)} | ${ms(x.latencyMs.max)} | ${(x.deliveredRatio * 100).toFixed(2)}% | ${x.gaps}/${x.dups} | ${cpuNote(x.cpu)} |`);
    }
    const c = s.latency.filter((x) => x.system === 'collector');
    for (const x of c) out.push('', `5-second snapshot baseline at ${num(x.rate)}/s (from the collector's arrival times, averaged over tick phase): ${lat(x.snapshotMs)}.`);
    out.push('');
  }
  if (s.fanout) {
    out.push('### Fan-out steps (1,000 subscribers, batches of 100 messages per POST)', '', '| System | Published/s | Delivered/s | Result | Step took | p99 | server CPU per 1M deliveries | cores used (server / bench / other) |', '|---|---|---|---|---|---|---|---|');
    for (const f of s.fanout) {
      for (const st of f.steps) {
        out.push(`| ${NAMES[f.system]} | ${num(st.rate)} | ${num(st.delivered)} | ${st.pass ? 'ok' : st.complete ? 'fell behind' : `LOSS (${st.closed} closed, ${st.gaps} gaps)`} | ${num(st.tookMs)} ms | ${ms(st.latencyMs.p99)} | ${ms(st.serverCpuMsPerMillion)} | ${cpuNote(st.cpu)} |`);
      }
    }
    out.push('');
  }
  if (s.connections) {
    out.push('### Idle connections', '', '| System | Connections | RSS before | RSS after | per connection (RSS) | per connection (V8 heap) |', '|---|---|---|---|---|---|');
    for (const x of s.connections) out.push(`| ${NAMES[x.system]} | ${num(x.connections)} | ${kb(x.rssBefore)} | ${kb(x.rssAfter)} | ${kb(x.rssPerConnection)} | ${kb(x.heapPerConnection)} |`);
    out.push('');
  }
  if (s.ingest) {
    const x = s.ingest;
    out.push('### Ingest', '', `${num(x.messagesPerSecond)} msg/s (${num(x.messagesPerCpuSecond)} per CPU second of the collector) over ${x.seconds} s: ${x.connections} connections x ${x.inFlight} requests in flight, ${num(x.batch)} messages per request, ${x.failedRequests} failed; cores: ${cpuNote(x.cpu)}.${x.withIds ? ` With a publish id on every message (idempotency, new ids each request): ${num(x.withIds.messagesPerSecond)} msg/s (${num(x.withIds.messagesPerCpuSecond)} per CPU second), ${x.withIds.failedRequests} failed.` : ''}`, '');
  }
  if (s.recovery) {
    const x = s.recovery;
    out.push('### Recovery', '', `${num(x.clients)} clients; SIGTERM to exit ${ms(x.shutdownMs)}; all clients caught up ${ms(x.resumeMsFromReady)} after the new process was ready (${ms(x.resumeMsFromStop)} after SIGTERM); ${num(x.messagesPublished)} messages published during the run, ${x.publishFailuresDuringRestart} publish requests refused while down (never acknowledged, so never owed); gaps ${x.gaps}, duplicates ${x.duplicates}, subscriptions not recovered ${x.recoveredFalse}.`, '');
  }
  if (s.scrape) {
    const x = s.scrape;
    out.push('### /metrics', '', `${x.scrapes} sequential scrapes of ${num(x.bytes)} bytes with ${x.channels} channels, 100 WebSocket subscribers fed at 1,000 msg/s and an SSE client: ${lat(x.renderMs)} at the client; the collector's own mean for the route ${ms(x.serverMeanMs)}.`, '');
  }
  if (s.plugin && !s.plugin.notMeasured) {
    out.push('### Plugin frame builder', '', '| Frame size | Buffer (rows) | rows/s (wall, best of 3) | rows per CPU second |', '|---|---|---|---|');
    for (const t of s.plugin.throughput) out.push(`| ${t.perFrame} message${t.perFrame > 1 ? 's' : ''} | ${num(t.maxLength || 1_000)} | ${num(t.rowsPerSecond)} | ${num(t.rowsPerCpuSecond)} |`);
    out.push('', 'Memory: ' + s.plugin.memory.map((m) => `${num(m.maxLength)} rows of 6 columns hold ${kb(m.heapBytes)} (${m.bytesPerRow} B/row)`).join('; ') + '.', '');
  }
  if (s.redis && s.redis.runs) {
    out.push('### Redis store', '', ...s.redis.runs.map((x) => `- ${x.instances} instance(s), ${x.subscribers} subscribers: ` + x.steps.map((st) => `${num(st.rate)} msg/s ${st.pass ? 'ok' : st.complete ? 'fell behind' : 'LOSS'} (${num(st.deliveredPerSecond)} deliveries/s)`).join(', ')), '');
  }
  if (r.profiles && r.profiles.length) {
    out.push('### CPU profiles (collector, node --cpu-prof)', '');
    for (const p of r.profiles) {
      out.push(`\`${p.file}\`:`, '', '| self | function |', '|---|---|', ...p.top.map((t) => `| ${t.share}% | \`${t.fn}\` |`), '');
    }
  }
  const errs = Object.entries(r.errors);
  if (errs.length) {
    out.push('### Failures', '', ...errs.map(([k, v]) => `- ${k}: \`${v.split('\n')[0]}\``), '');
  }
  return out.join('\n');
}

function writeReport(r, path) {
  const m = r.machine;
  const text = [
    '<!-- Generated by `npm run bench` (bench/run.js, bench/lib/report.js): do not edit by hand. -->',
    '# Benchmarks',
    '',
    `Run ${r.startedAt} (${r.mode} mode, ${r.durationSeconds} s). Methodology: [docs/benchmarks.md](docs/benchmarks.md).`,
    '',
    `Machine: ${m.cores} x ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}, Node ${m.node}; benchmark processes at nice ${m.niceness}. ` +
      `Load average at start ${m.loadAverageStart.join(' / ')}, at end ${(m.loadAverageEnd || []).join(' / ')} (1/5/15 min): other processes were sharing these cores; the "other" CPU column below says how much during each measurement.`,
    '',
    'Load split: every server under test (the collector, the bare ws server, the Socket.IO server) runs as its own Node process. ' +
      'The load generator is one Node process: the publisher on its main thread (HTTP/1.1 requests built before the clock starts, ' +
      'written on one keep-alive connection, pipelined) and the WebSocket subscribers in two worker threads (50 + 50 for latency, 500 + 500 for fan-out, 5,000 + 5,000 for connections). ' +
      'Everything shares the same cores.',
    '',
    renderTable(r.summary),
    '',
    details(r),
  ].join('\n');
  writeFileSync(path, `${text}\n`);
}

module.exports = { machine, summaryRows, renderTable, writeReport };
