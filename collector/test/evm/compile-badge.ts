/** Compiles fixtures/Badge.sol with the solc npm package (wasm, offline). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Abi } from 'viem';

// solc ships no types; its compile() takes and returns standard JSON.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require('solc') as { compile(input: string): string };

export interface CompiledBadge {
  abi: Abi;
  bytecode: `0x${string}`;
}

let cached: CompiledBadge | undefined;

export function compileBadge(): CompiledBadge {
  if (cached) {
    return cached;
  }
  const input = {
    language: 'Solidity',
    sources: { 'Badge.sol': { content: readFileSync(resolve(__dirname, 'fixtures/Badge.sol'), 'utf8') } },
    settings: {
      evmVersion: 'paris',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) {
    throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  }
  const c = out.contracts['Badge.sol'].Badge;
  cached = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  return cached;
}
