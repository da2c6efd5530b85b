/** CORS for origins listed in ws.allowedOrigins: REST answers and SSE streams readable from them. */
import http from 'node:http';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';

function sseHeaders(url: string, origin: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { origin } }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      req.destroy();
    });
    req.on('error', reject);
  });
}

describe('CORS (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({ env: { SG_ALLOWED_ORIGINS: 'http://grafana.example:3000' } });
    await publish(sg.url, { channel: 'cors/a', data: { n: 1 } });
  });
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: an allowed origin gets Access-Control-Allow-Origin on REST and SSE', async () => {
    const r = await fetch(`${sg.url}/api/v1/channels`, { headers: { origin: 'http://grafana.example:3000' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('http://grafana.example:3000');
    expect(r.headers.get('vary')).toContain('Origin');
    const s = await sseHeaders(`${sg.url}/api/v1/stream?channels=cors/a`, 'http://grafana.example:3000');
    expect(s.status).toBe(200);
    expect(s.headers['access-control-allow-origin']).toBe('http://grafana.example:3000');
  });

  test('behavior: any other origin gets no CORS header, and SSE refuses it', async () => {
    const r = await fetch(`${sg.url}/api/v1/channels`, { headers: { origin: 'http://evil.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const s = await sseHeaders(`${sg.url}/api/v1/stream?channels=cors/a`, 'http://evil.example');
    expect(s.status).toBe(403);
  });
});
