// Dev chain for the demo (npm run demo, docker-compose): hardhat 2's in-process network served by
// `hardhat node`. Blocks come on a timer (interval mining) so the chain monitor sees a steady head,
// like a real chain, instead of one block per transaction.
const blockMs = Number(process.env.CHAIN_BLOCK_MS || 2000);

module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      mining: { auto: false, interval: blockMs },
      // A fixed start time would make block timestamps lag behind the wall clock; keep the default (now).
    },
  },
};
