/**
 * POST /api/v1/alerts/webhook with Grafana's and Alertmanager's payloads (as their docs give them):
 * each alert shows up on alerts/active firing, then resolved, for WebSocket subscribers, REST and
 * the streamgauge_alerts_firing gauge.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';

async function post(sg: CollectorProcess, body: unknown, query = ''): Promise<{ status: number; body: any }> {
  const r = await fetch(`${sg.url}/api/v1/alerts/webhook${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

async function firingGauge(sg: CollectorProcess): Promise<number> {
  const text = await (await fetch(`${sg.url}/metrics`)).text();
  const m = /^streamgauge_alerts_firing (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Grafana unified alerting webhook (contact point type webhook), trimmed from a real notification. */
function grafanaPayload(status: 'firing' | 'resolved') {
  return {
    receiver: 'streamgauge',
    status,
    orgId: 1,
    alerts: [
      {
        status,
        labels: { alertname: 'QueueTooLong', grafana_folder: 'Attendance', severity: 'warning', queue: 'main' },
        annotations: { summary: 'Sync queue over 50 for 1m', description: 'queue_size=61' },
        startsAt: '2026-11-23T10:00:00Z',
        endsAt: status === 'resolved' ? '2026-11-23T10:05:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://grafana.local/alerting/grafana/abc/view',
        fingerprint: 'c6eadffa33fcdf37',
        silenceURL: 'http://grafana.local/alerting/silence/new',
        dashboardURL: '',
        panelURL: '',
        values: { B: 61, C: 1 },
        valueString: "[ var='B' labels={queue=main} value=61 ]",
      },
    ],
    groupLabels: { alertname: 'QueueTooLong' },
    commonLabels: { alertname: 'QueueTooLong', severity: 'warning' },
    commonAnnotations: { summary: 'Sync queue over 50 for 1m' },
    externalURL: 'http://grafana.local/',
    version: '1',
    groupKey: '{}:{alertname="QueueTooLong"}',
    truncatedAlerts: 0,
    title: `[${status.toUpperCase()}:1] QueueTooLong`,
    state: status === 'firing' ? 'alerting' : 'ok',
    message: '**Firing**',
  };
}

/** Alertmanager webhook_config payload (version 4). */
function alertmanagerPayload(status: 'firing' | 'resolved') {
  return {
    version: '4',
    groupKey: '{}:{alertname="ComponentOffline"}',
    truncatedAlerts: 0,
    status,
    receiver: 'streamgauge',
    groupLabels: { alertname: 'ComponentOffline' },
    commonLabels: { alertname: 'ComponentOffline', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local:9093',
    alerts: [
      {
        status,
        labels: { alertname: 'ComponentOffline', component: 'cloud', severity: 'critical' },
        annotations: { summary: 'cloud offline for 1m' },
        startsAt: '2026-11-23T11:00:00.000Z',
        endsAt: status === 'resolved' ? '2026-11-23T11:02:00.000Z' : '2026-11-23T11:06:00.000Z',
        generatorURL: 'http://prometheus.local:9090/graph?g0.expr=attendance_component_up%3D%3D0',
        fingerprint: '9f3a0c2e8b1d4f67',
      },
    ],
  };
}

describe('alert webhook (real collector)', () => {
  let sg: CollectorProcess;
  let c: WsTestClient;
  beforeAll(async () => {
    sg = await startCollector();
    c = await WsTestClient.connect(sg.wsUrl);
    const sub = await c.subscribe('alerts/active');
    expect(sub).toMatchObject({ type: 'subscribed', kind: 'state', schema: expect.objectContaining({ keyField: 'fingerprint' }) });
  });
  afterAll(async () => {
    c?.close();
    await sg?.stop();
    sg?.cleanup();
  });

  const changesFor = (fingerprint: string) =>
    c.frames
      .filter((f) => f.type === 'messages' && f.channel === 'alerts/active')
      .flatMap((f) => f.messages)
      .filter((m: any) => m.key === fingerprint);

  test('behaviour: a Grafana alert appears firing on alerts/active, then resolved', async () => {
    const r = await post(sg, grafanaPayload('firing'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 1, firing: 1, resolved: 0 });
    await c.waitFor((f) => f.type === 'messages' && f.messages.some((m: any) => m.key === 'c6eadffa33fcdf37'));
    expect(changesFor('c6eadffa33fcdf37')[0].data).toEqual({
      fingerprint: 'c6eadffa33fcdf37',
      alertname: 'QueueTooLong',
      status: 'firing',
      severity: 'warning',
      labels: { alertname: 'QueueTooLong', grafana_folder: 'Attendance', severity: 'warning', queue: 'main' },
      annotations: { summary: 'Sync queue over 50 for 1m', description: 'queue_size=61' },
      summary: 'Sync queue over 50 for 1m',
      startsAt: '2026-11-23T10:00:00.000Z',
      endsAt: null,
      source: 'grafana',
      generatorURL: 'http://grafana.local/alerting/grafana/abc/view',
      receiver: 'streamgauge',
    });
    expect(await firingGauge(sg)).toBe(1);

    expect((await post(sg, grafanaPayload('resolved'))).body).toMatchObject({ accepted: 1, firing: 0, resolved: 1 });
    await c.waitFor(
      (f) => f.type === 'messages' && f.messages.some((m: any) => m.key === 'c6eadffa33fcdf37' && m.data.status === 'resolved'),
    );
    expect(changesFor('c6eadffa33fcdf37').map((m: any) => [m.data.status, m.data.endsAt])).toEqual([
      ['firing', null],
      ['resolved', '2026-11-23T10:05:00.000Z'],
    ]);
    expect(await firingGauge(sg)).toBe(0);
  });

  test('behaviour: an Alertmanager alert appears firing on alerts/active, then resolved', async () => {
    expect((await post(sg, alertmanagerPayload('firing'))).status).toBe(200);
    await c.waitFor((f) => f.type === 'messages' && f.messages.some((m: any) => m.key === '9f3a0c2e8b1d4f67'));
    expect(changesFor('9f3a0c2e8b1d4f67')[0].data).toMatchObject({
      alertname: 'ComponentOffline',
      status: 'firing',
      severity: 'critical',
      labels: { alertname: 'ComponentOffline', component: 'cloud', severity: 'critical' },
      summary: 'cloud offline for 1m',
      startsAt: '2026-11-23T11:00:00.000Z',
      // A firing alert's endsAt from Alertmanager is only a forecast: not kept.
      endsAt: null,
      source: 'alertmanager',
    });
    expect(await firingGauge(sg)).toBe(1);
    // A new subscriber gets the current alerts as a snapshot first.
    const late = await WsTestClient.connect(sg.wsUrl);
    try {
      await late.subscribe('alerts/active');
      const snap = await late.waitFor((f) => f.type === 'messages' && f.snapshot === true);
      expect(Object.fromEntries(snap.messages.map((m: any) => [m.key, m.data.status]))).toEqual({
        c6eadffa33fcdf37: 'resolved',
        '9f3a0c2e8b1d4f67': 'firing',
      });
    } finally {
      late.close();
    }
    await post(sg, alertmanagerPayload('resolved'));
    await c.waitFor(
      (f) => f.type === 'messages' && f.messages.some((m: any) => m.key === '9f3a0c2e8b1d4f67' && m.data.status === 'resolved'),
    );
    const rest = (await (await fetch(`${sg.url}/api/v1/snapshot?channel=alerts/active`)).json()) as any;
    expect(rest.messages.find((m: any) => m.key === '9f3a0c2e8b1d4f67').data).toMatchObject({
      status: 'resolved',
      endsAt: '2026-11-23T11:02:00.000Z',
    });
    expect(await firingGauge(sg)).toBe(0);
  });

  test('behaviour: an alert without fingerprint gets a stable one from its labels', async () => {
    const body = { status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'X', b: '2', a: '1' } }] };
    const r1 = await post(sg, body);
    const r2 = await post(sg, { ...body, alerts: [{ status: 'resolved', labels: { a: '1', alertname: 'X', b: '2' } }] });
    expect(r1.status).toBe(200);
    expect(r2.status).toBe(200);
    const rest = (await (await fetch(`${sg.url}/api/v1/snapshot?channel=alerts/active`)).json()) as any;
    const rows = rest.messages.filter((m: any) => m.data.alertname === 'X');
    expect(rows).toHaveLength(1);
    expect(rows[0].data.status).toBe('resolved');
    expect(rows[0].key).toMatch(/^[0-9a-f]{16}$/);
  });

  test.each([
    {
      name: 'no alerts array',
      body: { status: 'firing' } as any,
      code: ErrorCode.BadRequest,
      message: 'alerts: required, an array of alerts ({"status","labels","annotations","startsAt",…})',
    },
    {
      name: 'a bad status',
      body: { alerts: [{ status: 'pending', labels: { alertname: 'A' } }] } as any,
      code: ErrorCode.BadRequest,
      message: 'alerts[0].status: must be "firing" or "resolved", got "pending"',
    },
    {
      name: 'labels missing',
      body: { alerts: [{ status: 'firing' }] } as any,
      code: ErrorCode.BadRequest,
      message: 'alerts[0].labels: required, an object of strings (alertname, severity…)',
    },
    {
      name: 'a label that is not a string',
      body: { alerts: [{ status: 'firing', labels: { alertname: 'A', n: 1 } }] } as any,
      code: ErrorCode.BadRequest,
      message: 'alerts[0].labels.n: must be a string, got number',
    },
    {
      name: 'a bad startsAt',
      body: { alerts: [{ status: 'firing', labels: { alertname: 'A' }, startsAt: 'yesterday' }] } as any,
      code: ErrorCode.BadRequest,
      message: 'alerts[0].startsAt: must be an RFC 3339 time, got "yesterday"',
    },
  ])('errors: a payload with $name is refused whole with $code and nothing is published', async ({ body, code, message }) => {
    const before = (await (await fetch(`${sg.url}/api/v1/snapshot?channel=alerts/active`)).json()) as any;
    const good = { status: 'firing', labels: { alertname: 'ShouldNotAppear' } };
    const withGood = {
      ...(body as Record<string, unknown>),
      ...(Array.isArray((body as any).alerts) ? { alerts: [good, ...(body as any).alerts] } : {}),
    };
    const r = await post(sg, withGood);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message).toBe(Array.isArray((body as any).alerts) ? message.replace('alerts[0]', 'alerts[1]') : message);
    const after = (await (await fetch(`${sg.url}/api/v1/snapshot?channel=alerts/active`)).json()) as any;
    expect(after).toEqual(before);
  });

  test('errors: invalid JSON is refused with SG_BAD_JSON and an unknown ?source with SG_BAD_REQUEST', async () => {
    const r = await post(sg, '{"alerts": [');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(ErrorCode.BadJson);
    const s = await post(sg, alertmanagerPayload('firing'), '?source=zabbix');
    expect(s.status).toBe(400);
    expect(s.body.error).toEqual({ code: ErrorCode.BadRequest, message: 'source must be grafana or alertmanager, got "zabbix"' });
  });
});
