/**
 * A TCP proxy in front of the chain's RPC port, so a test can take "the RPC" down and bring it
 * back on the same address while the chain itself keeps its state (hardhat keeps nothing across a
 * restart). stop() closes the listener and cuts every open connection, like a dead process.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Client connections open now (what the RPC side would count). */
  readonly connections: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createTcpProxy(port: number, targetPort: number): TcpProxy {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  return {
    port,
    get connections() {
      return clients.size;
    },
    start() {
      return new Promise((resolve, reject) => {
        const s = createServer((client) => {
          const upstream = connect(targetPort, '127.0.0.1');
          sockets.add(client);
          sockets.add(upstream);
          clients.add(client);
          client.pipe(upstream);
          upstream.pipe(client);
          const end = (): void => {
            client.destroy();
            upstream.destroy();
            sockets.delete(client);
            sockets.delete(upstream);
            clients.delete(client);
          };
          client.on('error', end).on('close', end);
          upstream.on('error', end).on('close', end);
        });
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => {
          server = s;
          resolve();
        });
      });
    },
    stop() {
      return new Promise((resolve) => {
        for (const s of sockets) {
          s.destroy();
        }
        sockets.clear();
        clients.clear();
        if (!server) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server = undefined;
      });
    },
  };
}
