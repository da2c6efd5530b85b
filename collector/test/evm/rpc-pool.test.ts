/**
 * The RPC pool's failover rules, with scripted transports (a small piece with injectable
 * transports; the real-network behaviour is covered by evm-faults.test.ts against hardhat).
 */
import pino from 'pino';
import { EvmError } from '../../src/sources/evm/errors';
import { endpointLabels, RpcPool } from '../../src/sources/evm/rpc-pool';
import type { RpcTransport } from '../../src/sources/evm/rpc-transport';
import type { Logger } from '../../src/logger';

type Script = (method: string) => unknown;

function pool(scripts: Script[], chainId = 1) {
  const calls: string[] = [];
  const active: string[] = [];
  const requests: [string, boolean][] = [];
  const p = new RpcPool({
    urls: scripts.map((_, i) => `https://rpc${i}.example.org/v3/SECRETKEY`),
    chainId,
    timeoutMs: 1000,
    logger: pino({ level: 'silent' }) as unknown as Logger,
    hooks: { request: (m, _s, ok) => requests.push([m, ok]), active: (l) => active.push(l) },
    createTransport(url, label): RpcTransport {
      const i = Number(/rpc(\d)/.exec(url)![1]);
      return {
        url,
        label,
        kind: 'http',
        async request(method) {
          calls.push(`${i}:${method}`);
          return scripts[i](method);
        },
        close: () => undefined,
      };
    },
  });
  return { p, calls, active, requests };
}

const down: Script = () => {
  throw new EvmError('EVM_RPC_UNAVAILABLE', 'connect ECONNREFUSED');
};
const up: Script = (m) => (m === 'eth_chainId' ? '0x1' : '0x10');

test('behavior: labels are host:port, never the URL with its key; shared hosts get #index', () => {
  expect(endpointLabels(['https://a.example.org/v3/KEY', 'wss://a.example.org/ws/KEY', 'http://127.0.0.1:8545?key=1'])).toEqual([
    'a.example.org:443#0',
    'a.example.org:443#1',
    '127.0.0.1:8545',
  ]);
});

test('behavior: a transport failure moves to the next endpoint within the same request; it stays there', async () => {
  const { p, calls, active } = pool([down, up]);
  expect(await p.request('eth_blockNumber')).toBe('0x10');
  expect(await p.request('eth_blockNumber')).toBe('0x10');
  expect(calls).toEqual(['0:eth_chainId', '1:eth_chainId', '1:eth_blockNumber', '1:eth_blockNumber']);
  expect(active).toEqual(['rpc0.example.org:443', 'rpc1.example.org:443']);
  expect(p.endpoint).toBe('rpc1.example.org:443');
});

test('behavior: a JSON-RPC error is an answer: it is thrown without failing over', async () => {
  const { p, calls, requests } = pool([
    (m) => {
      if (m === 'eth_chainId') {
        return '0x1';
      }
      throw new EvmError('EVM_RPC_ERROR', 'rate limited (-32005)', { rpcCode: -32005 });
    },
    up,
  ]);
  await expect(p.request('eth_getLogs')).rejects.toMatchObject({ code: 'EVM_RPC_ERROR', rpcCode: -32005 });
  expect(calls).toEqual(['0:eth_chainId', '0:eth_getLogs']);
  expect(p.endpoint).toBe('rpc0.example.org:443');
  expect(requests).toEqual([
    ['eth_chainId', true],
    ['eth_getLogs', false],
  ]);
});

test('behavior: every endpoint failing gives EVM_ALL_ENDPOINTS_DOWN with the last reason; a wrong chain id counts as failing', async () => {
  const { p } = pool([down, up], 137);
  await expect(p.request('eth_blockNumber')).rejects.toMatchObject({
    code: 'EVM_ALL_ENDPOINTS_DOWN',
    message: 'all 2 RPC endpoints failed; last: rpc1.example.org:443 serves chain id 1, not 137',
    cause: { code: 'EVM_CHAIN_MISMATCH' },
  });
  await expect(p.request('eth_blockNumber')).rejects.toMatchObject({ code: 'EVM_ALL_ENDPOINTS_DOWN' });
});

test('behavior: after close, requests fail at once without touching an endpoint', async () => {
  const { p, calls } = pool([up]);
  p.close();
  await expect(p.request('eth_blockNumber')).rejects.toMatchObject({
    code: 'EVM_RPC_UNAVAILABLE',
    message: 'eth_blockNumber: the pool is closed',
  });
  expect(calls).toEqual([]);
});
