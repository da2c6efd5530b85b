/**
 * Built-in demo traffic for `npm start` and the docker demo: the four systems of issue 4
 * (four-systems.ts) on the channels and metric rules of telemetry/demo-config.ts, plus the small
 * `demo/ticks` counter so `curl …/stream?channels=demo/**` shows something at once.
 */
import { type PublishItem, channelNamespace } from '@streamgauge/protocol';
import type { Config } from '../../collector-config';
import { DEMO_CHANNELS } from '../../telemetry/demo-config';
import type { Source } from '../source';
import { FourSystems } from './four-systems';

export function createDemoSource(o: Config['demo']): Source {
  return {
    name: 'demo',
    async start({ declare, publish, logger }) {
      await declare({
        name: 'demo/ticks',
        description: 'A counter and a random walk, published by the built-in demo.',
        fields: [
          { name: 'n', type: 'number' },
          { name: 'value', type: 'number', unit: 'percent' },
        ],
      });
      for (const d of DEMO_CHANNELS) {
        await declare(d);
      }
      const systems = new FourSystems();
      let n = 0;
      let value = 50;
      let busy = false;
      const step = (): void => {
        if (busy) {
          // The log is slower than the interval: skip a step rather than queue them without bound.
          return;
        }
        busy = true;
        value = Math.min(100, Math.max(0, value + (Math.random() - 0.5) * 10));
        const items = [{ channel: 'demo/ticks', data: { n: ++n, value: Math.round(value * 10) / 10 } }, ...systems.tick(Date.now())];
        // One batch per namespace: with several Redis shards a batch must stay on one (by namespace).
        const byNamespace = new Map<string, PublishItem[]>();
        for (const it of items) {
          const ns = channelNamespace(it.channel);
          byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), it]);
        }
        Promise.all([...byNamespace.values()].map((batch) => publish(batch)))
          .catch((err: unknown) => logger.warn({ err }, 'demo publish failed'))
          .finally(() => (busy = false));
      };
      step();
      const timer = setInterval(step, o.intervalMs);
      return () => clearInterval(timer);
    },
  };
}
