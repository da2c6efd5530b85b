/**
 * Dead peers are found by heartbeat: the collector pings, expects a pong, and closes a client that
 * stays silent with 4009, while a live client on the same collector keeps its connection.
 */
import { CloseCode } from '@streamgauge/protocol';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';

describe('heartbeat (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({ config: { ws: { heartbeatIntervalMs: 300, heartbeatTimeoutMs: 200 } } });
  });
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: a client that stops answering pings is closed with 4009; one that answers stays', async () => {
    const live = await WsTestClient.connect(sg.wsUrl);
    // autoPong off: this client receives pings but never answers them, like a dead peer.
    const dead = await WsTestClient.connect(sg.wsUrl, { autoPong: false });
    let pings = 0;
    live.ws.on('ping', () => pings++);
    expect(await dead.waitForClose(10_000)).toBe(CloseCode.HeartbeatTimeout);
    await new Promise((r) => setTimeout(r, 700));
    expect(live.closeCode).toBeNull();
    expect(pings).toBeGreaterThanOrEqual(2);
    const metrics = await (await fetch(`${sg.url}/metrics`)).text();
    expect(metrics).toContain('streamgauge_clients{transport="ws"} 1');
    live.close();
  });
});
