/**
 * /metrics: scraped by a real Prometheus (Debian package), linted by promtool, and served in both
 * exposition formats by content negotiation.
 */
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { type PrometheusProcess, promtoolCheckMetrics, startPrometheus } from '../helpers/prometheus-process';
import { WsTestClient } from '../helpers/ws-test-client';

describe('metrics (real collector, real Prometheus)', () => {
  let sg: CollectorProcess;
  let prom: PrometheusProcess;
  let client: WsTestClient;

  beforeAll(async () => {
    sg = await startCollector();
    prom = await startPrometheus([`127.0.0.1:${sg.port}`]);
    await publish(sg.url, { channel: 'app/scans', data: { ok: true } });
    client = await WsTestClient.connect(sg.wsUrl);
    await client.subscribe('app/scans');
    for (let i = 0; i < 3; i++) {
      await publish(sg.url, { channel: 'app/scans', data: { ok: true } });
    }
    await client.waitForOffset('app/scans', 4);
  });

  afterAll(async () => {
    client?.close();
    await prom?.stop();
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: Prometheus scrapes the collector and reports the target up', async () => {
    const up = await prom.waitFor('up{job="streamgauge"}', (v) => v[0].value[1] === '1');
    expect(up[0].metric.instance).toBe(`127.0.0.1:${sg.port}`);
  });

  test('behavior: published and delivered counters carry the namespace label, never the channel name', async () => {
    const published = await prom.waitFor('streamgauge_messages_published_total', (v) => v.some((s) => s.value[1] === '4'));
    // Namespaces known at start (declared channels such as alerts/active) are exported at 0, so that
    // increase() sees their first event: only `app` has counted anything.
    expect(published.filter((s) => s.value[1] !== '0').map((s) => s.metric.namespace)).toEqual(['app']);
    expect(published.every((s) => s.metric.channel === undefined)).toBe(true);
    const delivered = await prom.waitFor(
      'streamgauge_messages_delivered_total{transport="ws",namespace="app"}',
      (v) => v[0]?.value[1] === '3',
    );
    expect(delivered.every((s) => s.metric.channel === undefined)).toBe(true);
    const clients = await prom.waitFor('streamgauge_clients{transport="ws"}', (v) => v[0].value[1] === '1');
    expect(clients).toHaveLength(1);
  });

  test('behavior: promtool check metrics passes on the whole text output', async () => {
    const text = await (await fetch(`${sg.url}/metrics`)).text();
    expect(text).toContain('streamgauge_publish_to_send_seconds_bucket');
    expect(text).toContain('process_resident_memory_bytes');
    const r = promtoolCheckMetrics(text);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  test('behavior: OpenMetrics is served when the scraper asks for it, text otherwise', async () => {
    const om = await fetch(`${sg.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(om.headers.get('content-type')).toContain('application/openmetrics-text');
    expect((await om.text()).trimEnd().endsWith('# EOF')).toBe(true);
    const text = await fetch(`${sg.url}/metrics`);
    expect(text.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    // An OpenMetrics render must not strip `_total` from later text renders (prom-client 15 mutates names).
    const body = await text.text();
    expect(body).toContain('# TYPE streamgauge_messages_published_total counter');
    expect(promtoolCheckMetrics(body).status).toBe(0);
  });
});
