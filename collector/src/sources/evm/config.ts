/** EVM chain sources: one entry per chain. Filled in by the EVM source (docs/evm.md). */
export type EvmConfig = { chains: Record<string, unknown>[] };

export const EVM_DEFAULTS: EvmConfig = { chains: [] };

export const evmConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    chains: { type: 'array', items: { type: 'object' } },
  },
};
