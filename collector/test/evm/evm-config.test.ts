/**
 * EVM configuration: schema errors with their path at startup, the semantic checks (checksums,
 * ABI files, unknown events), and a collector whose chain config cannot run: it exits 78 at
 * startup with every problem, like any other configuration error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/collector-config';
import { ConfigError } from '../../src/errors';
import { type EvmChainConfig, evmConfigProblems, resolveChain } from '../../src/sources/evm/config';
import { startCollector } from '../helpers/collector-process';
import { compileBadge } from './compile-badge';

const BADGE = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const TRANSFER = 'event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)';
let tmp: string;
let abiFile: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sg-evm-config-'));
  abiFile = join(tmp, 'Badge.json');
  writeFileSync(abiFile, JSON.stringify({ abi: compileBadge().abi }));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function chain(extra: Record<string, unknown> = {}): EvmChainConfig {
  return { name: 'main', chainId: 1, rpcUrls: ['https://rpc.example.org/v1/KEY'], ...extra } as EvmChainConfig;
}

test('behavior: schema problems fail startup with ConfigError naming the path', () => {
  let err: unknown;
  try {
    resolveConfig({
      evm: { chains: [chain({ name: 'Main', rpcUrls: ['ftp://x'], contracts: [{ name: 'a', address: '0x12' }], colour: 1 })] },
    });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).code).toBe('SG_CONFIG_INVALID');
  expect((err as ConfigError).problems).toEqual([
    'evm.chains.0: unknown option "colour"',
    'evm.chains.0.name must match pattern "^[a-z0-9][a-z0-9_.-]{0,63}$"',
    'evm.chains.0.rpcUrls.0 must match pattern "^(https?|wss?)://"',
    'evm.chains.0.contracts.0.address must match pattern "^0x[0-9a-fA-F]{40}$"',
    // Every problem at once: the section's own checks run too (issue 13).
    'evm.chains[0].contracts[0].address 0x12: not a valid address (bad EIP-55 checksum; write it all lower-case to skip the check)',
  ]);
});

test('behavior: a valid chain resolves with every default applied and the ABI events keyed by selector', () => {
  const c = resolveChain(
    resolveConfig({ evm: { chains: [chain({ contracts: [{ name: 'badge', address: BADGE, abiFile, events: ['Transfer'] }] })] } }).evm
      .chains[0],
    0,
  );
  expect(c).toMatchObject({
    confirmations: 12,
    pollIntervalMs: 2000,
    startBlock: 'latest',
    requestTimeoutMs: 10_000,
  });
  expect([...c.contracts[0].events.keys()]).toEqual(['0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef']);
  expect([...c.watched]).toEqual([BADGE.toLowerCase()]);
});

test('behavior: semantic checks report bad checksums, unknown events, bad signatures and unreadable ABI files with their path', () => {
  const problems = evmConfigProblems({
    chains: [
      chain({
        contracts: [
          { name: 'checksum', address: '0x5fbDB2315678afecb367f032d93F642f64180aa3', events: [TRANSFER] },
          { name: 'unknown', address: BADGE, abiFile, events: ['Approval'] },
          {
            name: 'notInAbi',
            address: BADGE,
            abiFile,
            events: ['event Approval(address indexed owner, address indexed spender, uint256 value)'],
          },
          { name: 'badsig', address: BADGE, events: ['event Transfer(address from'] },
          { name: 'nofile', address: BADGE, abiFile: join(tmp, 'missing.json'), events: ['Transfer'] },
          { name: 'bare', address: BADGE, events: ['Transfer'] },
          { name: 'nothing', address: BADGE },
        ],
      }),
      chain({ watchAddresses: ['0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266'] }),
    ],
  });
  expect(problems[0]).toBe(
    'evm.chains[0].contracts[0].address 0x5fbDB2315678afecb367f032d93F642f64180aa3: not a valid address (bad EIP-55 checksum; write it all lower-case to skip the check)',
  );
  expect(problems[1]).toBe('evm.chains[1].name "main": defined twice');
  expect(problems[2]).toBe(
    'evm.chains[1].watchAddresses[0] 0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266: not a valid address (bad EIP-55 checksum)',
  );
  expect(problems).toHaveLength(3); // resolveChain stops at the first problem of a chain

  const one = (contract: Record<string, unknown>): string[] =>
    evmConfigProblems({ chains: [chain({ contracts: [{ address: BADGE, ...contract }] })] } as never);
  expect(one({ name: 'unknown', abiFile, events: ['Approval'] })).toEqual([
    `evm.chains[0].contracts[0].events[0]: unknown event "Approval": ${abiFile} has Transfer`,
  ]);
  expect(one({ name: 'x', abiFile, events: ['event Approval(address indexed owner, address indexed spender, uint256 value)'] })).toEqual([
    `evm.chains[0].contracts[0].events[0]: event Approval(address,address,uint256) is not in ${abiFile}`,
  ]);
  expect(one({ name: 'x', events: ['event Transfer(address from'] })).toEqual([
    'evm.chains[0].contracts[0].events[0] "event Transfer(address from": not a valid event signature (Unknown signature.)',
  ]);
  expect(one({ name: 'x', abiFile: join(tmp, 'missing.json'), events: ['Transfer'] })[0]).toMatch(
    /^cannot read ABI file .*missing\.json: ENOENT: no such file or directory/,
  );
  expect(one({ name: 'x', events: ['Transfer'] })[0]).toMatch(
    /^evm\.chains\[0\]\.contracts\[0\]\.events\[0\] "Transfer": a bare event name needs abiFile/,
  );
  expect(one({ name: 'x' })).toEqual(['evm.chains[0].contracts[0]: give abiFile or events (human-readable event signatures)']);
  expect(one({ name: 'x', events: [TRANSFER] })).toEqual([]);
});

test('behavior: a chain config that cannot run (unknown event, a name defined twice) stops the collector at startup with exit 78 and every problem', async () => {
  await expect(
    startCollector({
      config: {
        evm: {
          chains: [
            chain({
              name: 'broken',
              rpcUrls: ['http://127.0.0.1:9'],
              contracts: [{ name: 'badge', address: BADGE, abiFile, events: ['Mint'] }],
            }),
            chain({ name: 'broken', rpcUrls: ['http://127.0.0.1:9'] }),
          ],
        },
      },
    }),
  ).rejects.toThrow(
    new RegExp(
      'exited with 78[\\s\\S]*invalid configuration \\([^)]*\\)[\\s\\S]*' +
        escape(`evm.chains[0].contracts[0].events[0]: unknown event "Mint": ${abiFile} has Transfer`) +
        '[\\s\\S]*' +
        escape('evm.chains[1].name "broken": defined twice'),
    ),
  );
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
