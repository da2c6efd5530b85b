/**
 * The collector frames `messages` itself (transport/ws-frame.ts) and writes the bytes to every
 * subscriber's socket: they must be exactly what ws would have sent, at each length encoding
 * (7-bit, 16-bit, 64-bit), and a ws client must read them as the text sent.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { wsTextFrame } from '../../src/transport/ws-frame';

// ws's own encoder: exported as WebSocket.Sender, absent from @types/ws.
const { Sender } = WebSocket as unknown as {
  Sender: { frame(data: Buffer, o: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

describe('WebSocket text frame encoded once', () => {
  test.each([0, 1, 125, 126, 127, 65_535, 65_536, 200_000])('behaviour: %i bytes of payload frame as ws frames them', (n) => {
    const payload = Buffer.alloc(n, 'x');
    const ours = wsTextFrame(payload);
    const theirs = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
    expect(ours.equals(theirs)).toBe(true);
  });

  test('behaviour: a ws client reads frames written straight to the socket, in order with ws.send', async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      wss.on('connection', (ws, req) => {
        const socket = req.socket;
        ws.send('first');
        socket.write(wsTextFrame(Buffer.from('ünïcode '.repeat(20_000))));
        ws.send('third');
        socket.write(wsTextFrame(Buffer.from('{"type":"messages"}')));
      });
      const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const got: string[] = [];
      client.on('message', (d, isBinary) => got.push(isBinary ? 'binary!' : (d as Buffer).toString()));
      while (got.length < 4) {
        await once(client, 'message');
      }
      expect(got).toEqual(['first', 'ünïcode '.repeat(20_000), 'third', '{"type":"messages"}']);
      client.close();
    } finally {
      wss.close();
      server.close();
    }
  });
});
