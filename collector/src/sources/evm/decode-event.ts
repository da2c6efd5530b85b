/** Decodes a watched contract's log into an events-channel message. */
import { decodeEventLog, hexToNumber, type RpcLog } from 'viem';
import type { ResolvedContract } from './config';

/** `args` larger than this (JSON bytes) is replaced by a note, so one huge log cannot block the chain's publishing. */
export const MAX_ARGS_JSON_BYTES = 16 * 1024;
/** Flattened `arg_<name>` strings longer than this are cut. */
export const MAX_FLAT_ARG_CHARS = 256;

/** bigint → decimal string, recursively, so args survive JSON. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v.toString();
  }
  if (Array.isArray(v)) {
    return v.map(plain);
  }
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** The message, or null when the log is not one of the contract's watched events. */
export function decodeEvent(c: ResolvedContract, log: RpcLog, timestampMs: number): Record<string, unknown> | null {
  const event = log.topics[0] ? c.events.get(log.topics[0].toLowerCase()) : undefined;
  if (!event) {
    return null;
  }
  const decoded = decodeEventLog({
    abi: [event],
    topics: log.topics as [`0x${string}`, ...`0x${string}`[]],
    data: log.data as `0x${string}`,
    strict: false,
  });
  const rawArgs = (decoded.args ?? {}) as Record<string, unknown> | unknown[];
  const named: Record<string, unknown> = {};
  event.inputs.forEach((input, i) => {
    const key = input.name || `${i}`;
    named[key] = Array.isArray(rawArgs) ? rawArgs[i] : (rawArgs[input.name ?? ''] ?? rawArgs[i as unknown as string]);
  });
  let args = plain(named) as Record<string, unknown>;
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(args)) {
    if (v !== null && v !== undefined && typeof v !== 'object') {
      flat[`arg_${k}`] = String(v).slice(0, MAX_FLAT_ARG_CHARS);
    }
  }
  if (JSON.stringify(args).length > MAX_ARGS_JSON_BYTES) {
    args = { truncated: true, note: `args exceed ${MAX_ARGS_JSON_BYTES} bytes of JSON; read the log from the chain` };
  }
  return {
    contract: c.name,
    event: event.name,
    args,
    blockNumber: log.blockNumber === null ? null : hexToNumber(log.blockNumber),
    blockHash: log.blockHash,
    timestamp: timestampMs,
    txHash: log.transactionHash,
    logIndex: log.logIndex === null ? null : hexToNumber(log.logIndex),
    address: log.address.toLowerCase(),
    ...flat,
  };
}
