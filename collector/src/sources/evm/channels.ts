/**
 * The channels of one chain and their declared schemas (names and fields are agreed with the
 * dashboards and alert rules: do not rename). Units are Grafana unit ids where one fits.
 */
import type { ChannelDefinition } from '../../config/defaults';
import type { ResolvedChain } from './config';

export interface EvmChannelNames {
  blocks: string;
  transactions: string;
  events: string;
  reorgs: string;
  status: string;
}

export function evmChannelNames(chain: string): EvmChannelNames {
  return {
    blocks: `evm/${chain}/blocks`,
    transactions: `evm/${chain}/transactions`,
    events: `evm/${chain}/events`,
    reorgs: `evm/${chain}/reorgs`,
    status: `evm/${chain}/status`,
  };
}

export function evmChannelDefinitions(chain: Pick<ResolvedChain, 'name' | 'chainId' | 'contracts'>): ChannelDefinition[] {
  const n = evmChannelNames(chain.name);
  // Flattened `arg_<name>` columns for every input of every watched event, so tables can show them.
  const argNames = new Set<string>();
  for (const c of chain.contracts) {
    for (const e of c.events.values()) {
      e.inputs.forEach((input, i) => argNames.add(input.name || `${i}`));
    }
  }
  return [
    {
      name: n.blocks,
      kind: 'stream',
      description: `Canonical blocks of ${chain.name} (chain id ${chain.chainId}), each exactly once, in order; after a reorg message the replacement blocks follow.`,
      timeField: 'timestamp',
      fields: [
        { name: 'number', type: 'number', description: 'Block number' },
        { name: 'hash', type: 'string' },
        { name: 'parentHash', type: 'string' },
        { name: 'timestamp', type: 'time', description: 'Block time (ms since epoch)' },
        { name: 'txCount', type: 'number', unit: 'short', description: 'Transactions in the block' },
        { name: 'gasUsed', type: 'number', unit: 'gas' },
        { name: 'gasLimit', type: 'number', unit: 'gas' },
        { name: 'gasUsedRatio', type: 'number', unit: 'percentunit', description: 'gasUsed / gasLimit (0-1)' },
        { name: 'baseFeeGwei', type: 'number', unit: 'gwei', description: 'EIP-1559 base fee; null before London' },
        {
          name: 'blockInterval',
          type: 'number',
          unit: 's',
          description: 'Seconds since the parent block; null for the first block published',
        },
      ],
    },
    {
      name: n.transactions,
      kind: 'stream',
      description: `Transactions of ${chain.name} from or to a watched address (contracts and watchAddresses).`,
      timeField: 'timestamp',
      fields: [
        { name: 'hash', type: 'string' },
        { name: 'blockNumber', type: 'number' },
        { name: 'timestamp', type: 'time', description: 'Block time (ms since epoch)' },
        { name: 'from', type: 'string' },
        { name: 'to', type: 'string', description: 'null for a contract creation' },
        { name: 'contractAddress', type: 'string', description: 'Created contract, for a creation' },
        { name: 'value', type: 'string', unit: 'wei', description: 'Exact value in wei (decimal string)' },
        { name: 'valueEth', type: 'number', unit: 'ETH', description: 'value / 1e18, rounded to a float' },
        { name: 'gas', type: 'number', unit: 'gas', description: 'Gas limit of the transaction' },
        { name: 'gasUsed', type: 'number', unit: 'gas' },
        { name: 'effectiveGasPriceGwei', type: 'number', unit: 'gwei' },
        { name: 'status', type: 'string', description: 'success or reverted' },
      ],
    },
    {
      name: n.events,
      kind: 'stream',
      description: `Decoded events of the watched contracts of ${chain.name}.`,
      timeField: 'timestamp',
      fields: [
        { name: 'contract', type: 'string', description: 'Contract name from config' },
        { name: 'event', type: 'string' },
        { name: 'args', type: 'json', description: 'Decoded arguments; integers as decimal strings' },
        { name: 'blockNumber', type: 'number' },
        { name: 'blockHash', type: 'string' },
        { name: 'timestamp', type: 'time', description: 'Block time (ms since epoch)' },
        { name: 'txHash', type: 'string' },
        { name: 'logIndex', type: 'number' },
        { name: 'address', type: 'string' },
        ...[...argNames].map((a) => ({ name: `arg_${a}`, type: 'string' as const, description: `Argument ${a} as a string` })),
      ],
    },
    {
      name: n.reorgs,
      kind: 'stream',
      description: `Chain reorganisations of ${chain.name}: the orphaned blocks were published on the blocks channel before; their replacements follow there.`,
      fields: [
        { name: 'depth', type: 'number', unit: 'short', description: 'Orphaned blocks' },
        { name: 'oldHead', type: 'string', description: 'Hash of the published tip that was orphaned' },
        { name: 'newHead', type: 'string', description: 'Hash of the new canonical tip' },
        { name: 'oldHeadNumber', type: 'number' },
        { name: 'newHeadNumber', type: 'number' },
        { name: 'orphaned', type: 'json', description: 'Numbers of the orphaned blocks' },
        { name: 'orphanedHashes', type: 'json' },
        { name: 'commonAncestor', type: 'number', description: 'Last block both branches share' },
        { name: 'commonAncestorHash', type: 'string' },
        {
          name: 'beyondConfirmations',
          type: 'boolean',
          description: 'true when no common ancestor was found within the confirmation window',
        },
      ],
    },
    {
      name: n.status,
      kind: 'state',
      keyField: 'chain',
      description: `State of the ${chain.name} source: following, degraded (retrying after an RPC failure) or down (every endpoint failed, or bad config).`,
      fields: [
        { name: 'chain', type: 'string' },
        { name: 'state', type: 'string', description: 'following | degraded | down' },
        { name: 'endpoint', type: 'string', description: 'Active RPC endpoint (host:port)' },
        { name: 'head', type: 'number', description: 'Last published block' },
        { name: 'detail', type: 'string', description: 'Why, when not following' },
        { name: 'subscribed', type: 'boolean', description: 'true when heads come from eth_subscribe, false when polled' },
      ],
    },
  ];
}
