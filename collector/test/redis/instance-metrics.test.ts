/**
 * Metrics of a scaled-out collector through a real Prometheus: each instance is scraped on its
 * own and the `instance` label comes from the scrape. A message is counted as published once, by
 * the instance that accepted it, even though every instance delivers it.
 */
import { type CollectorProcess } from '../helpers/collector-process';
import { type PrometheusProcess, startPrometheus } from '../helpers/prometheus-process';
import { publishOk, startInstances, waitForChannel } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

describe('Prometheus over two Redis-backed instances', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];
  let prom: PrometheusProcess | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    await startInstances(2, redis.url, {}, sg);
    prom = await startPrometheus(sg.map((p) => `127.0.0.1:${p.port}`));
  });

  afterAll(async () => {
    await prom?.stop();
    for (const p of sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test('behavior: published counts carry the scrape instance label and sum to the messages accepted', async () => {
    const [a, b] = sg;
    await publishOk(
      a.url,
      'scrape/x',
      Array.from({ length: 30 }, (_, i) => i),
    );
    await waitForChannel(b.url, 'scrape/x');
    await publishOk(
      b.url,
      'scrape/x',
      Array.from({ length: 20 }, (_, i) => i),
    );
    const series = await prom!.waitFor(
      'streamgauge_messages_published_total{namespace="scrape"}',
      (v) => v.length === 2 && v.reduce((n, s) => n + Number(s.value[1]), 0) === 50,
    );
    const byInstance = Object.fromEntries(series.map((s) => [s.metric.instance, Number(s.value[1])]));
    expect(byInstance).toEqual({ [`127.0.0.1:${a.port}`]: 30, [`127.0.0.1:${b.port}`]: 20 });
    const up = await prom!.waitFor('up{job="streamgauge"} == 1', (v) => v.length === 2);
    expect(up.map((s) => s.metric.instance).sort()).toEqual(sg.map((p) => `127.0.0.1:${p.port}`).sort());
  });
});
