#!/usr/bin/env node
/**
 * Demo chain traffic: deploys Badge.sol from hardhat's first dev account at nonce 0 (so its
 * address is always 0x5FbDB2315678afecb367f032d93F642f64180aa3, the one in deploy/collector/*.yaml),
 * then mints, passes and checks in badges between the dev accounts, and now and then makes a
 * shallow reorg with evm_snapshot/evm_revert so the chain monitor's reorg annotations have data.
 *
 * Environment (this is a demo script, not the collector: it reads its own few variables):
 *   CHAIN_RPC_URL        http://127.0.0.1:8545
 *   TRAFFIC_INTERVAL_MS  1500   one transaction per interval
 *   REORG_EVERY_S        60     0 turns reorgs off
 *   REORG_DEPTH          2      blocks replaced by each reorg (keep it under the confirmation depth)
 * Stops on SIGINT/SIGTERM after the transaction in flight.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const solc = require('solc');
const { createPublicClient, createWalletClient, defineChain, getContractAddress, http, parseAbi } = require('viem');
const { mnemonicToAccount } = require('viem/accounts');

const RPC = process.env.CHAIN_RPC_URL || 'http://127.0.0.1:8545';
const INTERVAL_MS = Number(process.env.TRAFFIC_INTERVAL_MS || 1500);
const REORG_EVERY_S = Number(process.env.REORG_EVERY_S ?? 60);
const REORG_DEPTH = Number(process.env.REORG_DEPTH || 2);
/** hardhat's (and anvil's) public dev mnemonic: these keys hold test ETH on local chains only. */
const MNEMONIC = 'test test test test test test test test test test test junk';
const ACCOUNTS = Array.from({ length: 8 }, (_, i) => mnemonicToAccount(MNEMONIC, { addressIndex: i }));
const VENUES = ['main-hall', 'gate-a', 'gate-b', 'lab', 'cafeteria'];

const chain = defineChain({
  id: 31337,
  name: 'local',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [RPC] } },
});
const pub = createPublicClient({ chain, transport: http(RPC) });
const wallets = ACCOUNTS.map((account) => createWalletClient({ account, chain, transport: http(RPC) }));

function compileBadge() {
  const input = {
    language: 'Solidity',
    sources: { 'Badge.sol': { content: readFileSync(join(__dirname, 'Badge.sol'), 'utf8') } },
    settings: {
      evmVersion: 'paris',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { Badge: ['abi', 'evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) {
    throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  }
  const c = out.contracts['Badge.sol'].Badge;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

const abi = parseAbi([
  'function mint(address to) returns (uint256)',
  'function transfer(address to, uint256 id)',
  'function checkIn(uint256 id, string venue)',
  'function ownerOf(uint256) view returns (address)',
  'function totalSupply() view returns (uint256)',
]);

async function waitForChain(deadlineMs = 30_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await pub.getChainId();
    } catch (err) {
      if (Date.now() > until) {
        throw new Error(`no chain at ${RPC}: ${err.shortMessage || err.message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function ensureBadge() {
  const address = getContractAddress({ from: ACCOUNTS[0].address, nonce: 0n });
  const code = await pub.getCode({ address });
  if (code && code !== '0x') {
    return address;
  }
  const nonce = await pub.getTransactionCount({ address: ACCOUNTS[0].address });
  if (nonce !== 0) {
    throw new Error(`account 0 already sent ${nonce} transactions without deploying Badge at ${address}: restart the dev chain`);
  }
  const { bytecode } = compileBadge();
  const hash = await wallets[0].deployContract({ abi: [], bytecode });
  await pub.waitForTransactionReceipt({ hash, pollingInterval: 250 });
  return address;
}

const pick = (n) => Math.floor(Math.random() * n);

async function step(address) {
  const supply = Number(await pub.readContract({ address, abi, functionName: 'totalSupply' }));
  const roll = Math.random();
  if (supply < 5 || roll < 0.4) {
    return wallets[0].writeContract({ address, abi, functionName: 'mint', args: [ACCOUNTS[pick(ACCOUNTS.length)].address] });
  }
  const id = BigInt(1 + pick(supply));
  const owner = await pub.readContract({ address, abi, functionName: 'ownerOf', args: [id] });
  const w = wallets.find((x) => x.account.address.toLowerCase() === owner.toLowerCase());
  if (!w) {
    return wallets[0].writeContract({ address, abi, functionName: 'mint', args: [ACCOUNTS[pick(ACCOUNTS.length)].address] });
  }
  if (roll < 0.7) {
    return w.writeContract({ address, abi, functionName: 'checkIn', args: [id, VENUES[pick(VENUES.length)]] });
  }
  const to = ACCOUNTS[pick(ACCOUNTS.length)].address;
  return w.writeContract({ address, abi, functionName: 'transfer', args: [to, id] });
}

/** Snapshot, let REORG_DEPTH blocks be mined, revert: the next blocks replace them with new hashes. */
async function reorg() {
  const snap = await pub.request({ method: 'evm_snapshot', params: [] });
  const from = await pub.getBlockNumber();
  while ((await pub.getBlockNumber()) < from + BigInt(REORG_DEPTH)) {
    await new Promise((r) => setTimeout(r, 250));
  }
  await pub.request({ method: 'evm_revert', params: [snap] });
  process.stdout.write(`traffic: reorg of ${REORG_DEPTH} blocks after block ${from}\n`);
}

async function main() {
  let stopping = false;
  let wake = () => {};
  const stop = () => {
    stopping = true;
    wake();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  await waitForChain();
  const address = await ensureBadge();
  process.stdout.write(`traffic: Badge at ${address} on ${RPC}; one transaction every ${INTERVAL_MS} ms\n`);
  let lastReorg = Date.now();
  while (!stopping) {
    try {
      if (REORG_EVERY_S > 0 && Date.now() - lastReorg > REORG_EVERY_S * 1000) {
        lastReorg = Date.now();
        await reorg();
      } else {
        await step(address);
      }
    } catch (err) {
      // A reverted or dropped transaction (e.g. right after a reorg) is not fatal for demo traffic.
      // While stopping, the chain may already be gone: the failed request is expected, not news.
      if (!stopping) {
        process.stderr.write(`traffic: ${err.shortMessage || err.message}\n`);
      }
    }
    // The pause ends early on SIGINT/SIGTERM, so stopping takes no longer than the request in flight.
    await new Promise((r) => {
      const t = setTimeout(r, INTERVAL_MS);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`traffic: ${err.stack || err}\n`);
    process.exit(1);
  },
);
