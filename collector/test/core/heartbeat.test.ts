/**
 * Dead peers are found by heartbeat: the collector pings, expects a pong, and closes a client that
 * stays silent with 4009, while a live client on the same collector keeps its connection.
 */
import { CloseCode } from '@streamgauge/protocol';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { waitUntil } from '../helpers/deadlines';
import { WsTestClient } from '../helpers/ws-test-client';

describe('heartbeat (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    // The live client (this jest worker) must answer within heartbeatTimeoutMs even on a loaded
    // machine: 600 ms is far above a pong's usual few ms, and keeps the test short.
    sg = await startCollector({ config: { ws: { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 600 } } });
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
    expect(await dead.waitForClose()).toBe(CloseCode.HeartbeatTimeout);
    // Two more pings after the dead peer was cut: the live client answered the first one in time
    // and was pinged again instead of being closed. Waits for the pings, not for a time window.
    const after = pings;
    await waitUntil('two pings to the live client after the dead one closed', () => pings >= after + 2 || live.closeCode !== null);
    expect(live.closeCode).toBeNull();
    const metrics = await (await fetch(`${sg.url}/metrics`)).text();
    expect(metrics).toContain('streamgauge_clients{transport="ws"} 1');
    live.close();
  });
});
