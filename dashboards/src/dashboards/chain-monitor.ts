/** Chain monitor: replaces the block explorer tab and the head-watcher script. */
import { STREAMGAUGE } from '../datasources';
import { dashboard, live, prom, stat, table, timeseries } from '../panels';

/** The demo chain; a production deployment copies this file per chain or adds a variable. */
export const CHAIN = 'local';
const ch = (leaf: string) => `evm/${CHAIN}/${leaf}`;
const sel = `{chain="${CHAIN}"}`;

export const chainMonitor = dashboard({
  uid: 'sg-chain-monitor',
  title: 'Chain monitor',
  description: `Live blocks, gas, base fee and contract events of chain "${CHAIN}", with reorgs as annotations.`,
  tags: ['chain', 'evm'],
  time: { from: 'now-15m', to: 'now' },
  annotations: [
    {
      name: 'Reorgs',
      datasource: STREAMGAUGE,
      enable: true,
      iconColor: 'red',
      target: { refId: 'Anno', datasource: STREAMGAUGE, channel: ch('reorgs'), live: false, textField: 'depth' },
    },
  ],
  panels: [
    stat([live(ch('blocks'), { fields: ['number'], bufferSize: 10 })], {
      title: 'Head block',
      decimals: 0,
      options: { graphMode: 'none' },
    }),
    stat([prom(`max(streamgauge_evm_head_age_seconds${sel})`, 'head age', { instant: true, range: false })], {
      title: 'Head age',
      unit: 's',
      thresholds: [
        { value: null, color: 'green' },
        { value: 30, color: 'orange' },
        { value: 60, color: 'red' },
      ],
    }),
    stat([prom(`max(streamgauge_evm_confirmation_depth${sel})`, 'confirmations', { instant: true, range: false })], {
      title: 'Confirmation depth',
      unit: 'none',
      options: { graphMode: 'none' },
    }),
    stat([prom(`max(streamgauge_evm_source_up${sel})`, 'source', { instant: true, range: false })], {
      title: 'Chain source',
      mappings: [{ type: 'value', options: { '0': { text: 'DOWN', color: 'red' }, '1': { text: 'UP', color: 'green' } } }],
      options: { graphMode: 'none', colorMode: 'background' },
    }),
    timeseries([live(ch('blocks'), { fields: ['blockInterval'] })], { title: 'Block interval (live)', unit: 's', size: { w: 8, h: 8 } }),
    timeseries([live(ch('blocks'), { fields: ['gasUsedRatio'] })], {
      title: 'Gas used (live)',
      unit: 'percentunit',
      min: 0,
      max: 1,
      size: { w: 8, h: 8 },
    }),
    timeseries([live(ch('blocks'), { fields: ['baseFeeGwei'] })], {
      title: 'Base fee (live)',
      unit: 'none',
      decimals: 3,
      size: { w: 8, h: 8 },
      custom: { axisLabel: 'gwei' },
    }),
    timeseries([live(ch('blocks'), { fields: ['txCount'] })], {
      title: 'Transactions per block (live)',
      custom: { drawStyle: 'bars', fillOpacity: 60 },
    }),
    timeseries(
      [
        prom(`max(streamgauge_evm_block_interval_seconds${sel})`, 'block interval'),
        prom(`max(streamgauge_evm_head_age_seconds${sel})`, 'head age'),
      ],
      { title: 'Head age and block interval (Prometheus)', unit: 's' },
    ),
    table(
      [
        live(ch('blocks'), {
          fields: ['number', 'timestamp', 'hash', 'txCount', 'gasUsed', 'gasUsedRatio', 'baseFeeGwei'],
          bufferSize: 50,
        }),
      ],
      {
        title: 'Recent blocks',
        options: { sortBy: [{ displayName: 'number', desc: true }] },
      },
    ),
    table([live(ch('events'), { fields: ['blockNumber', 'contract', 'event', 'args', 'txHash', 'logIndex'], bufferSize: 100 })], {
      title: 'Recent contract events',
      options: { sortBy: [{ displayName: 'blockNumber', desc: true }] },
    }),
    timeseries([prom(`sum by (contract, event) (rate(streamgauge_evm_events_total${sel}[5m]))`, '{{contract}} {{event}}')], {
      title: 'Contract events per second (Prometheus)',
      unit: 'ops',
      size: { w: 8, h: 8 },
    }),
    timeseries(
      [
        prom(`sum(rate(streamgauge_evm_blocks_total${sel}[5m]))`, 'blocks/s'),
        prom(`sum(increase(streamgauge_evm_reorgs_total${sel}[15m]))`, 'reorgs (15m)'),
      ],
      { title: 'Blocks and reorgs (Prometheus)', size: { w: 8, h: 8 } },
    ),
    timeseries(
      [
        prom(`sum by (method) (rate(streamgauge_evm_rpc_requests_total${sel}[5m]))`, '{{method}}'),
        prom(`sum by (method) (rate(streamgauge_evm_rpc_errors_total${sel}[5m]))`, '{{method}} errors'),
      ],
      { title: 'RPC requests and errors', unit: 'reqps', size: { w: 8, h: 8 } },
    ),
    timeseries([prom(`histogram_quantile(0.95, sum by (le) (rate(streamgauge_evm_rpc_duration_seconds_bucket${sel}[5m])))`, 'p95')], {
      title: 'RPC latency p95',
      unit: 's',
    }),
    timeseries(
      [
        prom(`max(streamgauge_evm_gas_used_ratio${sel})`, 'gas used'),
        prom(`max(streamgauge_evm_base_fee_gwei${sel})`, 'base fee (gwei)'),
        prom(`max(streamgauge_evm_block_transactions${sel})`, 'tx/block'),
        prom(`max(streamgauge_evm_head_block${sel})`, 'head'),
      ],
      {
        title: 'Gas, base fee, transactions (Prometheus trend)',
        overrides: [
          {
            matcher: { id: 'byName', options: 'head' },
            properties: [{ id: 'custom.hideFrom', value: { viz: true, legend: false, tooltip: false } }],
          },
        ],
      },
    ),
  ],
});
