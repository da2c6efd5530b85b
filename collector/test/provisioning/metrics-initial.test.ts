/**
 * Counters exist at 0 from the start, and the rule tests model them that way.
 *
 * A real collector (declared channels, one chain on a real hardhat node, no demo traffic) is
 * scraped once it is ready, before any client connects or anything is published by a client:
 * every counter series of a label set known at start (transports, declared namespaces, the chain)
 * is already there at 0, so the first event shows in increase() (core-metrics.ts). Then
 * prometheus/rules.test.yml is checked against that scrape: every streamgauge_* counter series it
 * feeds to promtool exists in the real exposition with the same labels, and starts at 0 as the
 * real one does (not at 1, as a series born with its first event would).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startCollector, type CollectorProcess } from '../helpers/collector-process';
import { startHardhat, type HardhatNode } from '../evm/hardhat-node';
import { ROOT } from './provisioned-files';

jest.setTimeout(120_000);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition into samples and metric types. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m) {
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2];
      }
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
  }
  return { samples, types };
}

/** A promtool series selector: `name{a="b", c="d"}`. */
function parseSelector(s: string): { name: string; labels: Record<string, string> } {
  const m = /^([\w:]+)(?:\{(.*)\})?$/.exec(s.trim())!;
  const labels: Record<string, string> = {};
  for (const l of (m[2] ?? '').matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) {
    labels[l[1]] = l[2];
  }
  return { name: m[1], labels };
}

/** First value of promtool's expanding notation ('0+1x20', '5x4', '0 0 1'). */
const firstValue = (values: string) => Number(/^\s*(-?[\d.]+)/.exec(values)![1]);

/** Labels Prometheus adds at scrape time, not part of the exposition. */
const TARGET_LABELS = new Set(['job', 'instance']);
/** Labels whose values are names from the config (a rule test may name a second chain): compared by name only. */
const CONFIG_LABELS = new Set(['chain', 'namespace']);

const DECLARED = ['app/orders', 'billing/invoices'];

describe('counters at 0 before the first event', () => {
  let chain: HardhatNode;
  let collector: CollectorProcess;
  let scrape: { samples: Sample[]; types: Map<string, string> };

  beforeAll(async () => {
    chain = await startHardhat();
    collector = await startCollector({
      config: {
        channels: { definitions: DECLARED.map((name) => ({ name, kind: 'stream' })) },
        evm: { chains: [{ name: 'local', chainId: 31337, rpcUrls: [chain.httpUrl], confirmations: 5 }] },
      },
    });
    // The chain's source starts with the collector (or once it holds the chain's lease): wait until
    // it has declared its channels, the moment its label sets are known.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const body = (await (await fetch(`${collector.url}/api/v1/channels`)).json()) as { channels: { name: string }[] };
      if (body.channels.some((c) => c.name === 'evm/local/blocks')) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`the chain source declared no channels:\n${collector.output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    scrape = parseExposition(await (await fetch(`${collector.url}/metrics`)).text());
  });

  afterAll(async () => {
    await collector?.stop();
    collector?.cleanup();
    await chain?.stop();
  });

  const value = (name: string, labels: Record<string, string>) =>
    scrape.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  test('slow-client disconnects, refusals and publish-to-send counts exist at 0 for both transports', () => {
    for (const transport of ['ws', 'sse']) {
      expect(value('streamgauge_slow_client_disconnects_total', { transport })).toBe(0);
      expect(value('streamgauge_connections_refused_total', { transport, reason: 'origin' })).toBe(0);
      expect(value('streamgauge_connections_refused_total', { transport, reason: 'limit' })).toBe(0);
      expect(value('streamgauge_publish_to_send_seconds_count', { transport })).toBe(0);
    }
  });

  test('published, delivered, dropped and evicted exist at 0 for every namespace declared in config', () => {
    for (const namespace of DECLARED.map((c) => c.split('/')[0])) {
      expect(value('streamgauge_messages_published_total', { namespace })).toBe(0);
      expect(value('streamgauge_messages_delivered_total', { namespace, transport: 'ws' })).toBe(0);
      expect(value('streamgauge_messages_delivered_total', { namespace, transport: 'sse' })).toBe(0);
      expect(value('streamgauge_messages_dropped_total', { namespace, reason: 'slow_consumer' })).toBe(0);
      expect(value('streamgauge_log_evictions_total', { namespace })).toBe(0);
    }
    // The chain's own namespace is known at start too (its source declared its channels).
    expect(value('streamgauge_messages_dropped_total', { namespace: 'evm', reason: 'slow_consumer' })).toBe(0);
  });

  test('the chain counters exist at 0 before any reorg or RPC error', () => {
    expect(value('streamgauge_evm_reorgs_total', { chain: 'local' })).toBe(0);
    expect(scrape.samples.some((s) => s.name === 'streamgauge_evm_rpc_errors_total' && s.labels.chain === 'local' && s.value === 0)).toBe(
      true,
    );
  });

  test('prometheus/rules.test.yml feeds every streamgauge_* counter as the real collector exposes it: same labels, starting at 0', () => {
    const tests = parse(readFileSync(join(ROOT, 'prometheus/rules.test.yml'), 'utf8')).tests as any[];
    const checked: string[] = [];
    const problems: string[] = [];
    for (const t of tests) {
      for (const s of t.input_series as { series: string; values: string }[]) {
        const { name, labels } = parseSelector(s.series);
        if (!name.startsWith('streamgauge_') || (scrape.types.get(name) ?? scrape.types.get(name.replace(/_total$/, ''))) !== 'counter') {
          continue;
        }
        checked.push(s.series);
        const own = Object.fromEntries(Object.entries(labels).filter(([k]) => !TARGET_LABELS.has(k)));
        const real = scrape.samples.find(
          (x) =>
            x.name === name &&
            Object.keys(x.labels).sort().join() === Object.keys(own).sort().join() &&
            Object.entries(own).every(([k, v]) => CONFIG_LABELS.has(k) || x.labels[k] === v),
        );
        if (!real) {
          problems.push(`${t.name}: ${s.series} is not a series of the real collector at start`);
        } else if (firstValue(s.values) !== real.value) {
          problems.push(`${t.name}: ${s.series} starts at ${firstValue(s.values)}, the real series at ${real.value}`);
        }
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(3);
    expect(problems).toEqual([]);
  });
});
