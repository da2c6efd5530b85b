const http = require('node:http');
const { buildRequests, Publisher } = require('../lib/load-publisher');

describe('buildRequests', () => {
  test('splits messages into requests of batchSize with consecutive sequence numbers and exact Content-Length', () => {
    const reqs = buildRequests({ host: '127.0.0.1', port: 1, channel: 'bench/x', seq: 10, count: 5, batchSize: 2, pad: 'ab' });
    expect(reqs).toHaveLength(3);
    const bodies = reqs.map((r) => {
      const text = r.toString();
      const [head, body] = text.split('\r\n\r\n');
      expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
      expect(head.startsWith('POST /api/v1/publish HTTP/1.1\r\n')).toBe(true);
      return JSON.parse(body);
    });
    expect(bodies.map((b) => b.messages.map((m) => m.data.s))).toEqual([[10, 11], [12, 13], [14]]);
    expect(bodies[0].messages[0]).toEqual({ channel: 'bench/x', data: { s: 10, pad: 'ab' } });
  });
});

describe('Publisher', () => {
  let server;
  let port;
  const seen = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const m = JSON.parse(body).messages;
        seen.push(...m.map((x) => x.data.s));
        // Fail one request so that the status scan is tested too.
        res.writeHead(m[0].data.s === 4 ? 429 : 200, { 'content-type': 'application/json' }).end('{"ok":"HTTP/1.0 lookalike"}');
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    port = server.address().port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  test('paced sends every request in order on one connection, stamps send times, and counts 2xx and other answers', async () => {
    const pub = new Publisher({ port, connections: 1 });
    await pub.connect();
    try {
      const requests = buildRequests({ host: '127.0.0.1', port, channel: 'bench/x', seq: 0, count: 10, batchSize: 2 });
      const sendTimes = new Float64Array(6);
      const r = await pub.paced({ requests, rate: 1_000, batchSize: 2, sendTimes, batchBase: 1 });
      expect(r.sent).toBe(5);
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(pub.ok).toBe(4);
      expect(pub.failed).toBe(1);
      expect(sendTimes[0]).toBe(0);
      for (let i = 1; i <= 5; i++) expect(sendTimes[i]).toBeGreaterThan(0);
    } finally {
      pub.close();
    }
  });
});
