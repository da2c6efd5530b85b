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
const { median } = require('./rounds');

const NAMES = { collector: 'Streamgauge', ws: 'bare ws', 'ws-buffer': 'bare ws, one Buffer', socketio: 'Socket.IO' };

/**
 * The judged CPU per delivery, from the interleaved rounds (bench/suites/fanout-cpu.js): the ladders
 * run minutes apart, and this VM's speed drifts by more than the target's margin in that time.
 */
function interleavedCpuRow(fc) {
  if (!fc || !fc.systems.collector || !fc.systems['ws-buffer']) return null;
  const sc = fc.systems.collector;
  const sf = fc.systems['ws-buffer'];
  const rounds = (x) => x.byRound.map((b) => ms(b.msPerMillion)).join(', ');
  return {
    benchmark: `Fan-out: server CPU per 1M deliveries, collector and bare ws, one Buffer alternating (${fc.rounds} round${fc.rounds === 1 ? '' : 's'}; per round the median over ${fc.steps.map(num).join(', ')} msg/s)`,
    streamgauge:
      sc.medianMsPerMillion !== null && sc.ratioMedian !== null
        ? `${ms(sc.medianMsPerMillion)} (${sc.ratioMedian.toFixed(2)}x bare ws, one Buffer: median of the per-round ratios ${sc.ratioToWsBufferByRound.map((x) => x.toFixed(2)).join(', ')}); rounds ${rounds(sc)}`
        : '-',
    baselines: `bare ws, one Buffer: ${ms(sf.medianMsPerMillion)}; rounds ${rounds(sf)}`,
    target: '<= 1.1x bare ws, one Buffer',
    met: sc.ratioMedian !== null ? met(sc.ratioMedian <= 1.1) : 'n/a',
  };
}

function summaryRows(r) {
  const s = r.suites;
  const rows = [];
  const errorRow = (name, label) =>
    rows.push({
      benchmark: label,
      streamgauge: `FAILED: ${(r.errors[name] || '').split('\n')[0]}`,
      baselines: '-',
      target: '-',
      met: 'not measured',
    });

  if (s.latency) {
    for (const rate of [...new Set(s.latency.map((x) => x.rate))]) {
      const by = (k) => s.latency.find((x) => x.rate === rate && x.system === k);
      const c = by('collector');
      const w = by('ws');
      const io = by('socketio');
      const ratio = c && w && c.latencyMs.p99 !== null && w.latencyMs.p99 ? c.latencyMs.p99 / w.latencyMs.p99 : null;
      const judged = rate === 10_000;
      const rounds = c && c.rounds ? c.rounds.length : 1;
      rows.push({
        benchmark: `Publish-to-deliver latency, ${num(rate)} msg/s, 100 subscribers (median of ${rounds} round${rounds > 1 ? 's' : ''})`,
        streamgauge: c
          ? `${lat(c.latencyMs)}${ratio !== null ? ` (p99 ${ratio.toFixed(2)}x bare ws)` : ''}${c.deliveredRatio < 1 ? `, ${(c.deliveredRatio * 100).toFixed(2)}% delivered` : ''}`
          : '-',
        baselines: [
          w && `bare ws: ${lat(w.latencyMs)}${w.deliveredRatio < 1 ? `, ${(w.deliveredRatio * 100).toFixed(2)}% delivered` : ''}`,
          io && `Socket.IO: ${lat(io.latencyMs)}${io.deliveredRatio < 1 ? `, ${(io.deliveredRatio * 100).toFixed(2)}% delivered` : ''}`,
          c && c.snapshotMs && `5 s snapshot: ${lat(c.snapshotMs)}`,
        ]
          .filter(Boolean)
          .join('<br>'),
        target: judged ? 'p99 <= 1.3x bare ws (same run), no loss' : '-',
        met: judged && c ? met(ratio !== null && ratio <= 1.3 && c.deliveredRatio === 1 && c.gaps === 0 && c.dups === 0 && !c.reordered) : 'n/a',
      });
    }
  } else if (r.errors.latency) errorRow('latency', 'Publish-to-deliver latency');

  if (s.fanout) {
    const by = (k) => s.fanout.find((x) => x.system === k);
    const c = by('collector');
    const fair = by('ws-buffer');
    const ratio = c && fair && fair.maxDelivered ? c.maxDelivered / fair.maxDelivered : null;
    const cap = (x) =>
      x ? `${num(x.maxDelivered)}/s${x.ceilingHit ? '' : ` (not a ceiling: ${x.stoppedBy || 'highest step tried'})`}` : '-';
    rows.push({
      benchmark: 'Fan-out: delivered msg/s, 1,000 subscribers, no loss (ladder until each system falls behind)',
      streamgauge: c ? `${cap(c)}${ratio !== null ? ` (${ratio.toFixed(2)} of bare ws, one Buffer)` : ''}` : '-',
      baselines: ['ws-buffer', 'ws', 'socketio']
        .map((k) => by(k) && `${NAMES[k]}: ${cap(by(k))}`)
        .filter(Boolean)
        .join('<br>'),
      target: '>= 1,000,000/s and >= 0.8 of bare ws, one Buffer',
      met: c ? met(c.maxDelivered >= 1_000_000 && ratio !== null && ratio >= 0.8) : 'n/a',
    });
    // Server CPU per million deliveries: the median over the steps every system passed (1,000
    // msg/s and up). Unlike the ceiling, it does not move with what else runs on the machine.
    const common = (c ? c.steps : [])
      .map((st) => st.rate)
      .filter(
        (rate, i, a) => rate >= 1_000 && a.indexOf(rate) === i && s.fanout.every((x) => x.steps.some((y) => y.rate === rate && y.pass)),
      );
    const cpu = (x, field = 'serverCpuMsPerMillion') =>
      x ? median(x.steps.filter((st) => st.pass && common.includes(st.rate)).map((st) => st[field])) : null;
    const cc = cpu(c);
    const cf = cpu(fair);
    const cpuRatio = cc !== null && cf ? cc / cf : null;
    // Older result files have no idle measurement: then no marginal figure.
    const marginal = (x) => (x && x.idleServerCores !== undefined && x.idleServerCores !== null ? cpu(x, 'marginalCpuMsPerMillion') : null);
    const mc = marginal(c);
    const mf = marginal(fair);
    const idleNote = (x) =>
      x && x.idleServerCores !== undefined && x.idleServerCores !== null
        ? `; idle with its subscribers ${x.idleServerCores} cores, without it ${ms(marginal(x))}`
        : '';
    const ladderCpu = {
      benchmark: `Fan-out: server CPU per 1M deliveries, ladders run one system after the other (median over the steps every system passed: ${common.map(num).join(', ') || 'none'} msg/s)`,
      streamgauge:
        cc !== null
          ? `${ms(cc)}${cpuRatio !== null ? ` (${cpuRatio.toFixed(2)}x bare ws, one Buffer)` : ''}${idleNote(c)}${
              mc !== null && mf ? ` (${(mc / mf).toFixed(2)}x)` : ''
            }`
          : '-',
      baselines: ['ws-buffer', 'ws', 'socketio']
        .map((k) => by(k) && `${NAMES[k]}: ${ms(cpu(by(k)))}${idleNote(by(k))}`)
        .filter(Boolean)
        .join('<br>'),
      target: '<= 1.1x bare ws, one Buffer',
      // No step passed by every system (a loaded machine in quick mode): no figure to judge.
      met: cpuRatio !== null ? met(cpuRatio <= 1.1) : 'n/a',
    };
    // Judged on the interleaved rounds when they ran (fanout-cpu.js: the ladders are minutes apart,
    // and this VM's speed drifts by more than the margin in that time); the ladders' figure stays
    // beside it, for every system.
    const interleaved = interleavedCpuRow(s['fanout-cpu']);
    if (interleaved) {
      ladderCpu.target = '-';
      ladderCpu.met = 'n/a';
      rows.push(interleaved);
    }
    rows.push(ladderCpu);
  } else if (r.errors.fanout) errorRow('fanout', 'Fan-out');
  if (!s.fanout && interleavedCpuRow(s['fanout-cpu'])) rows.push(interleavedCpuRow(s['fanout-cpu']));
  if (r.errors['fanout-cpu']) errorRow('fanout-cpu', 'Fan-out: server CPU per 1M deliveries, alternating');

  if (s.connections) {
    const c = s.connections.find((x) => x.system === 'collector');
    const w = s.connections.find((x) => x.system === 'ws');
    const capped = c && c.capped ? ` (${num(c.requested)} asked; capped by the ${c.capped})` : '';
    rows.push({
      benchmark: `Memory per idle WebSocket, ${num(c ? c.connections : 0)} connections${capped}`,
      streamgauge: c ? `${kb(c.rssPerConnection)} RSS (${kb(c.heapPerConnection)} V8 heap)` : '-',
      baselines: w ? `bare ws: ${kb(w.rssPerConnection)} RSS` : '-',
      target: '< 15 KB',
      met: c ? met(c.rssPerConnection < 15 * 1024) : 'n/a',
    });
    const loopRatio = c && w && w.heartbeatLoopP99Ms ? c.heartbeatLoopP99Ms / w.heartbeatLoopP99Ms : null;
    rows.push({
      benchmark: `Heartbeats on ${num(c ? c.connections : 0)} idle connections: event-loop delay p99 over 3 intervals of ${c ? num(c.heartbeatMs) : '-'} ms`,
      streamgauge: c
        ? `${ms(c.heartbeatLoopP99Ms)}${loopRatio !== null ? ` (${loopRatio.toFixed(2)}x bare ws)` : ''}; ${num(c.closedDuringHeartbeats)} clients dropped`
        : '-',
      baselines: w ? `bare ws (ping sweep): ${ms(w.heartbeatLoopP99Ms)}; ${num(w.closedDuringHeartbeats)} dropped` : '-',
      target: 'no client dropped',
      met: c ? met(c.closedDuringHeartbeats === 0 && c.openAfterHeartbeats === c.connections) : 'n/a',
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
      target: 'p99 < 10 ms under load (client side)',
      // Judged on the p99 a scraper sees while the collector delivers: the time spent queued
      // behind deliveries on the same event loop is part of what a scrape costs.
      met: met(x.renderMs.p99 !== null && x.renderMs.p99 < 10),
    });
  } else if (r.errors.scrape) errorRow('scrape', '/metrics render');

  if (s.browser) {
    const doc = s.browser.documentedEmissionsPerSecond;
    const docText = (Math.round(doc * 10) / 10).toString();
    for (const x of s.browser.runs) {
      const missing = x.expectedRows - x.rows;
      const loss = missing > 0 ? `, ${num(missing)} of ${num(x.expectedRows)} rows never rendered (${num(x.lost)} lost)` : '';
      const judged = x.rate === 1_000;
      rows.push({
        benchmark: `Browser: publish to row in the plugin's panel (Chromium, built module.js, Grafana-style proxy), ${num(x.rate)} msg/s, ${x.panels} panel${x.panels > 1 ? 's' : ''}`,
        streamgauge: `${lat(x.latencyMs)}${loss}; ${x.emissionsPerSecondPerPanel.mean} emissions/s per panel (max ${x.emissionsPerSecondPerPanel.max})`,
        baselines: `documented emission bound: ${docText}/s per panel`,
        target: judged ? `p99 < 50 ms, emissions <= ${docText}/s` : `emissions <= ${docText}/s`,
        // One emission more than the bound allows can fall inside a window's edges: 1/seconds of slack.
        met: met(
          (!judged || (x.latencyMs.p99 !== null && x.latencyMs.p99 < 50)) &&
            !x.lost &&
            x.emissionsPerSecondPerPanel.max <= doc + 1 / x.seconds,
        ),
      });
    }
  } else if (r.errors.browser) errorRow('browser', 'Browser: publish to row');

  if (s.plugin) {
    if (s.plugin.notMeasured) {
      rows.push({
        benchmark: 'Plugin: rows/s, memory',
        streamgauge: `not measured: ${s.plugin.notMeasured}`,
        baselines: '-',
        target: '>= 500,000 rows/s',
        met: 'not measured',
      });
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
        ? {
            benchmark: 'Chain: new head to WebSocket',
            streamgauge: `not measured: ${s.chain.notMeasured}`,
            baselines: '-',
            target: '-',
            met: 'not measured',
          }
        : {
            benchmark: `Chain: new head to WebSocket (hardhat, ${s.chain.blocks} blocks)`,
            streamgauge: `${lat(s.chain.latencyMs)}${s.chain.missing ? `, ${s.chain.missing} missing` : ''}`,
            baselines: '-',
            target: '-',
            met: 'n/a',
          },
    );
  } else if (r.errors.chain) errorRow('chain', 'Chain');

  if (s.redis) {
    rows.push(
      s.redis.notMeasured
        ? {
            benchmark: 'Redis store: deliveries/s, 1 and 3 instances',
            streamgauge: `not measured: ${s.redis.notMeasured}`,
            baselines: '-',
            target: '-',
            met: 'not measured',
          }
        : {
            benchmark: 'Redis store: highest deliveries/s with no loss, ~100 subscribers spread over the instances',
            streamgauge: s.redis.runs
              .map(
                (x) =>
                  `${x.instances} instance${x.instances > 1 ? 's' : ''}: ${num(x.deliveredPerSecond)}/s (${num(x.publishedPerSecond)} msg/s published${x.ceilingHit ? '' : ', highest step tried'})${x.complete ? '' : ' (no step passed)'}`,
              )
              .join('<br>'),
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

/** Plain statement of which targets are met, which are not, and which could not be measured. */
function targetsLine(rows) {
  // The label without its first parenthesis (the method), keeping rate and panel counts apart.
  const list = (m) => rows.filter((x) => x.met === m).map((x) => x.benchmark.replace(/ \(.*$/, ''));
  const out = ['## Targets', ''];
  const met = list('met');
  const not = list('NOT met');
  const unmeasured = list('not measured');
  out.push(`- **Met (${met.length})**: ${met.join('; ') || 'none'}.`);
  out.push(`- **NOT met (${not.length})**: ${not.join('; ') || 'none'}.`);
  if (unmeasured.length) out.push(`- **Not measured (${unmeasured.length})**: ${unmeasured.join('; ')}.`);
  return out.join('\n');
}

function cpuNote(c) {
  return c ? `server ${c.serverCores}, bench ${c.benchCores}, other ${c.otherCores}` : '-';
}

function details(r) {
  const s = r.suites;
  const out = [];
  if (s.latency) {
    out.push(
      '### Latency',
      '',
      '| System | Rate | Batch | p50 | p99 | max | delivered | gaps/dups | cores used (server / bench / other) |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const x of s.latency) {
      out.push(
        `| ${NAMES[x.system]}, median | ${num(x.rate)}/s (achieved ${num(x.achievedRate)}) | ${x.batchSize} | ${ms(x.latencyMs.p50)} | ${ms(x.latencyMs.p99)} | ${ms(x.latencyMs.max)} | ${(x.deliveredRatio * 100).toFixed(2)}% | ${x.gaps}/${x.dups}${x.reordered ? ` (${num(x.reordered)} frames out of send order)` : ''}${x.subscribersClosed ? ` (${x.subscribersClosed} subscribers closed)` : ''} | - |`,
      );
      for (const rd of x.rounds || []) {
        out.push(
          `| ${NAMES[x.system]}, round ${rd.round} | ${num(x.rate)}/s (achieved ${num(rd.achievedRate)}) | ${x.batchSize} | ${ms(rd.latencyMs.p50)} | ${ms(rd.latencyMs.p99)} | ${ms(rd.latencyMs.max)} | ${(rd.deliveredRatio * 100).toFixed(2)}% | ${rd.gaps === undefined ? '-' : `${rd.gaps}/${rd.dups}`} | ${cpuNote(rd.cpu)} |`,
        );
      }
    }
    const c = s.latency.filter((x) => x.system === 'collector');
    for (const x of c)
      out.push(
        '',
        `5-second snapshot baseline at ${num(x.rate)}/s (from the collector's arrival times, averaged over tick phase): ${lat(x.snapshotMs)}.`,
      );
    out.push('');
  }
  if (s.fanout) {
    out.push(
      '### Fan-out steps (1,000 subscribers, batches of 100 messages per POST)',
      '',
      '| System | Published/s | Delivered/s | Result | Step took | p99 | server CPU per 1M deliveries | cores used (server / bench / other) |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const f of s.fanout) {
      out.push(`| ${NAMES[f.system]} | ladder ended: ${f.stoppedBy || '-'} | | | | | | |`);
      for (const st of f.steps) {
        out.push(
          `| ${NAMES[f.system]} | ${num(st.rate)} | ${num(st.delivered)} | ${st.pass ? 'ok' : st.complete ? 'fell behind' : `LOSS (${st.closed} closed, ${st.gaps} gaps)`} | ${num(st.tookMs)} ms | ${ms(st.latencyMs.p99)} | ${ms(st.serverCpuMsPerMillion)} | ${cpuNote(st.cpu)} |`,
        );
      }
    }
    out.push('');
  }
  if (s['fanout-cpu']) {
    const fc = s['fanout-cpu'];
    out.push(
      `### Fan-out CPU, alternating rounds (1,000 subscribers, ${fc.stepSeconds} s per step)`,
      '',
      '| System | Round | CPU per 1M deliveries (median over the steps) | per step | idle with its subscribers |',
      '|---|---|---|---|---|',
    );
    for (const [sys, x] of Object.entries(fc.systems)) {
      for (const b of x.byRound) {
        const steps = b.steps.map((st) => `${num(st.rate)}: ${ms(st.serverCpuMsPerMillion)}${st.result === 'ok' ? '' : ` (${st.result})`}`).join(', ');
        out.push(`| ${NAMES[sys] || sys} | ${b.round} | ${ms(b.msPerMillion)} | ${steps} | ${b.idleServerCores ?? '-'} cores |`);
      }
    }
    out.push('');
  }
  if (s.connections) {
    out.push(
      '### Idle connections with heartbeats',
      '',
      '| System | Connections | connected in | RSS before | RSS after | per connection (RSS) | per connection (V8 heap) | heartbeat interval | event-loop p99 over 3 intervals | dropped |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const x of s.connections)
      out.push(
        `| ${NAMES[x.system]} | ${num(x.connections)}${x.capped ? ` (${num(x.requested)} asked; ${x.capped})` : ''} | ${num(x.connectMs)} ms | ${kb(x.rssBefore)} | ${kb(x.rssAfter)} | ${kb(x.rssPerConnection)} | ${kb(x.heapPerConnection)} | ${num(x.heartbeatMs)} ms | ${ms(x.heartbeatLoopP99Ms)} | ${num(x.closedDuringHeartbeats)} |`,
      );
    out.push('');
  }
  if (s.browser) {
    out.push(
      '### Browser: publish to row in the panel',
      '',
      '| Panels | Rate | Window | p50 | p99 | max | emission p99 | rows seen / expected | lost | stored out of `s` order | emissions/s per panel (mean / max) | publish failures |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const x of s.browser.runs)
      out.push(
        `| ${x.panels} | ${num(x.rate)}/s | ${x.seconds} s | ${ms(x.latencyMs.p50)} | ${ms(x.latencyMs.p99)} | ${ms(x.latencyMs.max)} | ${x.emittedMs ? ms(x.emittedMs.p99) : '-'} | ${num(x.rows)} / ${num(x.expectedRows)} | ${num(x.lost)} | ${x.outOfOrder ?? '-'} | ${x.emissionsPerSecondPerPanel.mean} / ${x.emissionsPerSecondPerPanel.max} | ${x.publishFailures} |`,
      );
    out.push('');
  }
  if (s.ingest) {
    const x = s.ingest;
    out.push(
      '### Ingest',
      '',
      `${num(x.messagesPerSecond)} msg/s (${num(x.messagesPerCpuSecond)} per CPU second of the collector) over ${x.seconds} s: ${x.connections} connections x ${x.inFlight} requests in flight, ${num(x.batch)} messages per request, ${x.failedRequests} failed; cores: ${cpuNote(x.cpu)}.${x.withIds ? ` With a publish id on every message (idempotency, new ids each request): ${num(x.withIds.messagesPerSecond)} msg/s (${num(x.withIds.messagesPerCpuSecond)} per CPU second), ${x.withIds.failedRequests} failed.` : ''}`,
      '',
    );
  }
  if (s.recovery) {
    const x = s.recovery;
    out.push(
      '### Recovery',
      '',
      `${num(x.clients)} clients; SIGTERM to exit ${ms(x.shutdownMs)}; all clients caught up ${ms(x.resumeMsFromReady)} after the new process was ready (${ms(x.resumeMsFromStop)} after SIGTERM); ${num(x.messagesPublished)} messages published during the run, ${x.publishFailuresDuringRestart} publish requests refused while down (never acknowledged, so never owed); gaps ${x.gaps}, duplicates ${x.duplicates}, subscriptions not recovered ${x.recoveredFalse}.`,
      '',
    );
  }
  if (s.scrape) {
    const x = s.scrape;
    out.push(
      '### /metrics',
      '',
      `${x.scrapes} sequential scrapes of ${num(x.bytes)} bytes with ${x.channels} channels, 100 WebSocket subscribers fed at 1,000 msg/s and an SSE client: ${lat(x.renderMs)} at the client; the collector's own mean for the route ${ms(x.serverMeanMs)}.`,
      '',
    );
  }
  if (s.plugin && !s.plugin.notMeasured) {
    out.push(
      '### Plugin frame builder',
      '',
      '| Frame size | Buffer (rows) | rows/s (wall, median of 3) | rows per CPU second (median of 3) |',
      '|---|---|---|---|',
    );
    for (const t of s.plugin.throughput)
      out.push(
        `| ${t.perFrame} message${t.perFrame > 1 ? 's' : ''} | ${num(t.maxLength || 1_000)} | ${num(t.rowsPerSecond)} | ${num(t.rowsPerCpuSecond)} |`,
      );
    out.push(
      '',
      'Memory: ' +
        s.plugin.memory.map((m) => `${num(m.maxLength)} rows of 6 columns hold ${kb(m.heapBytes)} (${m.bytesPerRow} B/row)`).join('; ') +
        '.',
      '',
    );
  }
  if (s.redis && s.redis.runs) {
    out.push(
      '### Redis store',
      '',
      ...s.redis.runs.map(
        (x) =>
          `- ${x.instances} instance(s), ${x.subscribers} subscribers: ` +
          x.steps
            .map(
              (st) =>
                `${num(st.rate)} msg/s ${st.pass ? 'ok' : st.complete ? 'fell behind' : 'LOSS'} (${num(st.deliveredPerSecond)} deliveries/s)`,
            )
            .join(', '),
      ),
      '',
    );
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
      'written on one keep-alive connection, pipelined) and the WebSocket subscribers in worker threads (50 + 50 for latency, 500 + 500 for fan-out; 2 or 4 threads for the idle connections). ' +
      'The browser suite runs Chromium (one dashboard page whose panels share the data source) and the Grafana-style test host as well. Everything shares the same cores. ' +
      'Latency figures are the median of the rounds (every round is listed below); ratios are against baselines from this same run.',
    '',
    targetsLine(r.summary),
    '',
    renderTable(r.summary),
    '',
    details(r),
  ].join('\n');
  writeFileSync(path, `${text}\n`);
}

module.exports = { machine, summaryRows, renderTable, writeReport };
