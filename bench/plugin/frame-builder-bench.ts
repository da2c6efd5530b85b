/**
 * Plugin throughput and memory, on the plugin's own pure frame builder (plugin/src/stream/
 * frame-builder.ts) under Node: socket message text -> JSON.parse -> FrameBuilder.append ->
 * StreamingDataFrame, the path every live message takes in the browser. Run by bench/suites/plugin.js
 * as `node --expose-gc --import tsx bench/plugin/frame-builder-bench.ts <quick>`; prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import type { ChannelSchema, MessageItem } from '@streamgauge/protocol';
import { CurrentStateBuilder } from '../../plugin/src/stream/current-state';
import { FrameBuilder } from '../../plugin/src/stream/frame-builder';

const quick = process.argv[2] === 'quick';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const schema: ChannelSchema = {
  declared: true,
  fields: [
    { name: 'value', type: 'number', unit: 'ms' },
    { name: 'host', type: 'string' },
    { name: 'status', type: 'string' },
    { name: 'bytes', type: 'number', unit: 'bytes' },
    { name: 'ok', type: 'boolean' },
  ],
};

/** Frames as the collector sends them: `messages` frames of `perFrame` items, already JSON text. */
function buildFrames(frames: number, perFrame: number, firstOffset = 0): string[] {
  const out: string[] = [];
  let offset = firstOffset;
  const t0 = 1_700_000_000_000;
  for (let f = 0; f < frames; f++) {
    const items: string[] = [];
    for (let i = 0; i < perFrame; i++) {
      offset++;
      items.push(
        `{"offset":${offset},"ts":${t0 + offset},"data":{"value":${(offset % 977) / 3},"host":"web-${offset % 16}","status":"${offset % 10 ? 'ok' : 'slow'}","bytes":${offset * 13},"ok":${offset % 7 !== 0}}}`,
      );
    }
    out.push(`{"type":"messages","channel":"app/requests","epoch":"e1","messages":[${items.join(',')}]}`);
  }
  return out;
}

/**
 * Median of 3 runs after a warm-up, in wall time and in CPU time of this process (never the best
 * run: docs/benchmarks.md, Method).
 */
function throughput(perFrame: number, frames: number, maxLength: number): { rowsPerSecond: number; rowsPerCpuSecond: number; rows: number } {
  const texts = buildFrames(frames, perFrame);
  const run = (): { rows: number; ms: number; cpuMs: number } => {
    const b = new FrameBuilder({ schema, refId: 'A', name: 'app/requests', maxLength });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let rows = 0;
    for (const text of texts) {
      const f = JSON.parse(text) as { epoch: string; messages: MessageItem[] };
      rows += b.append(f.messages, f.epoch);
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { rows, ms, cpuMs: (c.user + c.system) / 1000 };
  };
  run(); // warm-up: let V8 optimise the path
  const runs = [run(), run(), run()];
  const mid = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((a, b) => by(a) - by(b))[1];
  const wall = mid(runs, (r) => r.ms);
  const cpu = mid(runs, (r) => r.cpuMs);
  return { rowsPerSecond: Math.round((wall.rows / wall.ms) * 1000), rowsPerCpuSecond: Math.round((cpu.rows / cpu.cpuMs) * 1000), rows: wall.rows };
}

function memory(maxLength: number): { maxLength: number; heapBytes: number; bytesPerRow: number } {
  // Frames are built and parsed one at a time, so what stays on the heap is what the builder keeps.
  const frames = Math.ceil((maxLength * 1.2) / 100);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const b = new FrameBuilder({ schema, refId: 'A', name: 'app/requests', maxLength });
  for (let i = 0; i < frames; i++) {
    const [text] = buildFrames(1, 100, i * 100);
    const f = JSON.parse(text) as { epoch: string; messages: MessageItem[] };
    b.append(f.messages, f.epoch);
  }
  gc();
  gc();
  const heapBytes = process.memoryUsage().heapUsed - before;
  if (b.length !== maxLength) {
    throw new Error(`buffer holds ${b.length} rows, expected ${maxLength}`);
  }
  return { maxLength, heapBytes, bytesPerRow: Math.round(heapBytes / maxLength) };
}

/**
 * Current state (plugin/src/stream/current-state.ts) next to the append path: an entity channel
 * with `keys` live keys, updates spread over them, folded into one row per key; plus the cost of
 * building the keyed frame a panel gets at each (bounded-rate) emission.
 */
function currentState(keys: number, updates: number): { keys: number; rowsUpdatedPerSecond: number; frameBuildMs: number } {
  const entity: ChannelSchema = { ...schema, keyField: 'host', fields: [...schema.fields] };
  const texts: string[] = [];
  let offset = 0;
  for (let f = 0; f < updates / 100; f++) {
    const items: string[] = [];
    for (let i = 0; i < 100; i++) {
      offset++;
      const key = `k${(offset * 7919) % keys}`;
      items.push(`{"offset":${offset},"ts":${1_700_000_000_000 + offset},"key":"${key}","data":{"value":${offset % 977},"host":"${key}","status":"ok","bytes":${offset},"ok":true}}`);
    }
    texts.push(`{"type":"messages","channel":"app/hosts","epoch":"e1","messages":[${items.join(',')}]}`);
  }
  const run = () => {
    const s = new CurrentStateBuilder({ schema: entity, kind: 'entity', maxKeys: keys });
    s.reset([], 'e1', 0);
    const t0 = performance.now();
    let rows = 0;
    for (const text of texts) {
      const f = JSON.parse(text) as { epoch: string; messages: MessageItem[] };
      s.apply(f.messages, f.epoch);
      rows += f.messages.length;
    }
    const ms = performance.now() - t0;
    const f0 = performance.now();
    const frame = s.frame();
    const frameMs = performance.now() - f0;
    if (frame.length !== Math.min(keys, updates)) {
      throw new Error(`current state holds ${frame.length} rows, expected ${Math.min(keys, updates)}`);
    }
    return { rowsPerSecond: (rows / ms) * 1000, frameMs };
  };
  run();
  const runs = [run(), run(), run()];
  return {
    keys,
    // Medians of the 3 runs, as for the append path (docs/benchmarks.md, Method).
    rowsUpdatedPerSecond: Math.round(runs.map((r) => r.rowsPerSecond).sort((x, y) => x - y)[1]),
    frameBuildMs: Math.round(runs.map((r) => r.frameMs).sort((x, y) => x - y)[1] * 10) / 10,
  };
}

const frames = quick ? 200 : 2_000;
// The first measurement pays for lazily created module state (it would count as the builder's): discard it.
memory(1_000);
const result = {
  throughput: [
    { perFrame: 1, ...throughput(1, frames * 20, 1_000) },
    { perFrame: 100, ...throughput(100, frames, 1_000) },
    { perFrame: 100, maxLength: 100_000, ...throughput(100, frames, 100_000) },
  ],
  memory: [memory(1_000), memory(100_000)],
  currentState: [currentState(10_000, quick ? 20_000 : 200_000)],
};
process.stdout.write(`${JSON.stringify(result)}\n`);
