/**
 * One raw HTTP/1.1 keep-alive connection for tests that need what fetch() hides: requests
 * pipelined on one socket, bodies sent in parts or never finished, chunked bodies written chunk by
 * chunk. Answers are parsed in order (HTTP/1.1 answers pipelined requests in order); only
 * Content-Length answers are parsed, which is what the collector sends.
 */
import { type Socket, connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  private buf = Buffer.alloc(0);
  readonly answers: RawAnswer[] = [];
  closed = false;
  private wake: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawConnection> {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((res, rej) => {
      s.once('connect', res);
      s.once('error', rej);
    });
    return new RawConnection(s);
  }

  private parse(): void {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      const [statusLine, ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (this.buf.length < end + 4 + len) {
        return;
      }
      const body = this.buf.subarray(end + 4, end + 4 + len).toString();
      this.answers.push({ status: Number(statusLine.split(' ')[1]), headers, body });
      this.buf = this.buf.subarray(end + 4 + len);
      this.wake?.();
    }
  }

  /** Resolves with the first `n` answers, or rejects if the socket closes first. */
  async take(n: number): Promise<RawAnswer[]> {
    while (this.answers.length < n) {
      if (this.closed) {
        throw new Error(`socket closed after ${this.answers.length} of ${n} answers`);
      }
      await new Promise<void>((r) => (this.wake = r));
    }
    return this.answers.slice(0, n);
  }

  /** The n-th answer (1-based). */
  async answer(n = 1): Promise<RawAnswer> {
    return (await this.take(n))[n - 1];
  }

  /** Resolves once the peer (or this side) closed the connection. */
  async waitClosed(): Promise<void> {
    while (!this.closed) {
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  write(s: string): void {
    this.socket.write(s);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
