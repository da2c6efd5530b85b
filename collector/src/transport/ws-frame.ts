/**
 * One `messages` frame encoded once as a whole WebSocket text frame (RFC 6455 section 5.2: FIN,
 * opcode 1, unmasked as every server-to-client frame, 7/16/64-bit payload length), so that the
 * same bytes go to every subscriber with one socket write each. `ws.send(buffer)` would build a
 * header per client and write header and payload with a writev each time: about 20% more server
 * CPU per delivery (bench/micro/fanout-cpu-ab.js). ws's own encoder (`WebSocket.Sender.frame`)
 * is not part of its typed API; collector/test/core/ws-frame.test.ts checks these bytes against it.
 */

/** The whole frame (header and payload) for a text message already encoded as UTF-8. */
export function wsTextFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const headerLength = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLength + n);
  out[0] = 0x81; // FIN, text
  if (n < 126) {
    out[1] = n;
  } else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(0, 2); // a frame under 4 GiB: the high half of the 64-bit length is 0
    out.writeUInt32BE(n, 6);
  }
  payload.copy(out, headerLength);
  return out;
}
