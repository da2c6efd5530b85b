/**
 * Configuration of the EVM chain sources (`evm.chains`, docs/evm.md). The JSON schema catches
 * shapes and address syntax with a path; `evmConfigProblems` does what a schema cannot (address
 * checksums, ABI files, events that the ABI does not have); `resolveChain` turns one checked entry
 * into what the source runs on, with every default applied.
 */
import { readFileSync } from 'node:fs';
import { type AbiEvent, isAddress, parseAbi, toEventSelector } from 'viem';
import type { DeepReadonly } from '../../config/deep-types';
import type { ConfigSection } from '../../config/section';

export interface EvmContractConfig {
  /** Label in channels and metrics (`contract`): keep it short and stable. */
  name: string;
  address: string;
  /** A JSON ABI: an array, or an object with an `abi` array (hardhat/foundry artifacts). */
  abiFile?: string;
  /**
   * Events to decode: human-readable signatures (`event Transfer(address indexed from, …)`), or
   * bare names of events in `abiFile`. Absent: every event of `abiFile`.
   */
  events?: string[];
}

export interface EvmChainConfig {
  /** Channel segment and `chain` label: lower-case letters, digits, `_.-`. */
  name: string;
  chainId: number;
  /** HTTP(S) and/or WebSocket URLs, tried in order; the next one takes over when one fails. */
  rpcUrls: string[];
  /** Blocks deeper than this under the head are final: reorgs are tracked within this window. */
  confirmations?: number;
  /** How often to ask for the head when the endpoint has no newHeads subscription (HTTP). */
  pollIntervalMs?: number;
  /** First block to publish on a fresh log: `latest` (the head at start) or a block number. */
  startBlock?: 'latest' | number;
  contracts?: EvmContractConfig[];
  /** Addresses whose transactions (from or to) go to the transactions channel, besides the contracts. */
  watchAddresses?: string[];
  /** One RPC request's timeout. */
  requestTimeoutMs?: number;
}

export type EvmConfig = { chains: EvmChainConfig[] };

export const EVM_DEFAULTS: EvmConfig = { chains: [] };

/** Per-chain defaults (arrays in config replace rather than merge, so they are applied here). */
export const EVM_CHAIN_DEFAULTS = {
  confirmations: 12,
  pollIntervalMs: 2_000,
  startBlock: 'latest' as 'latest' | number,
  requestTimeoutMs: 10_000,
};

/** Largest confirmation window: the tracker keeps this many recent blocks in memory. */
export const MAX_CONFIRMATIONS = 1_000;

const ADDRESS = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' };

export const evmConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    chains: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'chainId', 'rpcUrls'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
          chainId: { type: 'integer', minimum: 1 },
          rpcUrls: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', pattern: '^(https?|wss?)://' } },
          confirmations: { type: 'integer', minimum: 0, maximum: MAX_CONFIRMATIONS },
          pollIntervalMs: { type: 'integer', minimum: 50 },
          startBlock: { oneOf: [{ const: 'latest' }, { type: 'integer', minimum: 0 }] },
          requestTimeoutMs: { type: 'integer', minimum: 100 },
          watchAddresses: { type: 'array', items: ADDRESS },
          contracts: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'address'],
              properties: {
                name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
                address: ADDRESS,
                abiFile: { type: 'string', minLength: 1 },
                events: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              },
            },
          },
        },
      },
    },
  },
};

/** A watched contract, ready to decode logs. */
export interface ResolvedContract {
  name: string;
  /** Lower-case, as logs carry it after normalization. */
  address: string;
  /** Watched events by topic0 (event selector). */
  events: Map<string, AbiEvent>;
}

export interface ResolvedChain {
  name: string;
  chainId: number;
  rpcUrls: string[];
  confirmations: number;
  pollIntervalMs: number;
  startBlock: 'latest' | number;
  requestTimeoutMs: number;
  contracts: ResolvedContract[];
  /** Lower-case watched addresses: watchAddresses and contract addresses. */
  watched: Set<string>;
}

type ReadFile = (path: string) => string;
const readUtf8: ReadFile = (p) => readFileSync(p, 'utf8');

function readAbi(file: string, readFile: ReadFile): AbiEvent[] {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new Error(`cannot read ABI file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`ABI file ${file} is not JSON: ${(err as Error).message}`);
  }
  const abi = Array.isArray(json) ? json : (json as { abi?: unknown })?.abi;
  if (!Array.isArray(abi)) {
    throw new Error(`ABI file ${file} must hold an array, or an object with an "abi" array`);
  }
  return abi.filter((x): x is AbiEvent => typeof x === 'object' && x !== null && (x as { type?: string }).type === 'event');
}

function signature(e: AbiEvent): string {
  return `${e.name}(${e.inputs.map((i) => i.type).join(',')})`;
}

/** One contract's watched events, or throws an Error whose message says which entry is wrong. */
function resolveEvents(c: DeepReadonly<EvmContractConfig>, where: string, readFile: ReadFile): Map<string, AbiEvent> {
  const fromFile = c.abiFile ? readAbi(c.abiFile, readFile) : undefined;
  const out = new Map<string, AbiEvent>();
  if (!c.events) {
    if (!fromFile) {
      throw new Error(`${where}: give abiFile or events (human-readable event signatures)`);
    }
    for (const e of fromFile) {
      out.set(toEventSelector(e), e);
    }
    return out;
  }
  c.events.forEach((text, i) => {
    const at = `${where}.events[${i}]`;
    let e: AbiEvent;
    if (/^\s*event\s/.test(text)) {
      try {
        e = parseAbi([text] as string[])[0] as AbiEvent;
      } catch (err) {
        throw new Error(
          `${at} ${JSON.stringify(text)}: not a valid event signature (${(err as { shortMessage?: string }).shortMessage ?? (err as Error).message})`,
        );
      }
      if (fromFile && !fromFile.some((x) => signature(x) === signature(e))) {
        throw new Error(`${at}: event ${signature(e)} is not in ${c.abiFile}`);
      }
    } else {
      if (!fromFile) {
        throw new Error(
          `${at} ${JSON.stringify(text)}: a bare event name needs abiFile; otherwise write the signature, e.g. "event Transfer(address indexed from, address indexed to, uint256 value)"`,
        );
      }
      const found = fromFile.filter((x) => x.name === text.trim());
      if (found.length === 0) {
        throw new Error(
          `${at}: unknown event ${JSON.stringify(text)}: ${c.abiFile} has ${fromFile.map((x) => x.name).join(', ') || 'no events'}`,
        );
      }
      e = found[0];
      for (const extra of found.slice(1)) {
        out.set(toEventSelector(extra), extra);
      }
    }
    out.set(toEventSelector(e), e);
  });
  return out;
}

/** Every default applied, ABIs read and parsed. Throws an Error naming the path of the first problem. */
export function resolveChain(c: DeepReadonly<EvmChainConfig>, index: number, readFile: ReadFile = readUtf8): ResolvedChain {
  const where = `evm.chains[${index}]`;
  const contracts = (c.contracts ?? []).map((k, i) => {
    const at = `${where}.contracts[${i}]`;
    // Mixed case means an EIP-55 checksum: a wrong one is almost always a typo in the address.
    if (!isAddress(k.address, { strict: true })) {
      throw new Error(`${at}.address ${k.address}: not a valid address (bad EIP-55 checksum; write it all lower-case to skip the check)`);
    }
    return { name: k.name, address: k.address.toLowerCase(), events: resolveEvents(k, at, readFile) };
  });
  const watched = new Set<string>(contracts.map((k) => k.address));
  (c.watchAddresses ?? []).forEach((a, i) => {
    if (!isAddress(a, { strict: true })) {
      throw new Error(`${where}.watchAddresses[${i}] ${a}: not a valid address (bad EIP-55 checksum)`);
    }
    watched.add(a.toLowerCase());
  });
  return {
    name: c.name,
    chainId: c.chainId,
    rpcUrls: [...c.rpcUrls],
    confirmations: c.confirmations ?? EVM_CHAIN_DEFAULTS.confirmations,
    pollIntervalMs: c.pollIntervalMs ?? EVM_CHAIN_DEFAULTS.pollIntervalMs,
    startBlock: c.startBlock ?? EVM_CHAIN_DEFAULTS.startBlock,
    requestTimeoutMs: c.requestTimeoutMs ?? EVM_CHAIN_DEFAULTS.requestTimeoutMs,
    contracts,
    watched,
  };
}

/**
 * Checks the schema cannot express, each with its path: duplicate names, address checksums,
 * unreadable ABI files, events missing from the ABI. Empty when the section is fine.
 */
export function evmConfigProblems(evm: DeepReadonly<EvmConfig>, readFile: ReadFile = readUtf8): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  evm.chains.forEach((c, i) => {
    if (names.has(c.name)) {
      problems.push(`evm.chains[${i}].name ${JSON.stringify(c.name)}: defined twice`);
    }
    names.add(c.name);
    const contractNames = new Set<string>();
    (c.contracts ?? []).forEach((k, j) => {
      if (contractNames.has(k.name)) {
        problems.push(`evm.chains[${i}].contracts[${j}].name ${JSON.stringify(k.name)}: defined twice in chain ${c.name}`);
      }
      contractNames.add(k.name);
    });
    try {
      resolveChain(c, i, readFile);
    } catch (err) {
      problems.push((err as Error).message);
    }
  });
  return problems;
}

/**
 * The `evm` section as config registers it: its schema, defaults and the checks a schema cannot
 * express. A problem is a configuration error: the collector exits 78 at startup.
 */
export const evmConfigSection: ConfigSection<EvmConfig> = {
  key: 'evm',
  schema: evmConfigSchema,
  defaults: EVM_DEFAULTS,
  problems: (evm) => evmConfigProblems(evm),
};
