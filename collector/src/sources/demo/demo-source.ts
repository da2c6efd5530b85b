/**
 * Built-in demo traffic for `npm start`: a newcomer sees data flow at once.
 * (The full four-system generator lives in ../../telemetry/demo-traffic.ts when present.)
 */
import type { Config } from '../../config/load-config';
import type { Source } from '../source';

export function createDemoSource(o: Config['demo']): Source {
  return {
    name: 'demo',
    async start({ hub, logger }) {
      await hub.declare({
        name: 'demo/ticks',
        description: 'A counter and a random walk, published by the built-in demo.',
        fields: [
          { name: 'n', type: 'number' },
          { name: 'value', type: 'number', unit: 'percent' },
        ],
      });
      let n = 0;
      let value = 50;
      const timer = setInterval(() => {
        value = Math.min(100, Math.max(0, value + (Math.random() - 0.5) * 10));
        hub
          .publish([{ channel: 'demo/ticks', data: { n: ++n, value: Math.round(value * 10) / 10 } }])
          .catch((err: unknown) => logger.warn({ err }, 'demo publish failed'));
      }, o.intervalMs);
      return () => clearInterval(timer);
    },
  };
}
