/** Streams and connections: replaces the IPTV operator's connection spreadsheet and map. */
import { barGauge, dashboard, live, panel, prom, stat, table, timeseries } from '../panels';

export const streamsConnections = dashboard({
  uid: 'sg-streams-connections',
  title: 'Streams and connections',
  description: 'Active viewer connections, bandwidth in total and per stream, and where viewers are.',
  tags: ['iptv'],
  panels: [
    stat([prom('sum(iptv_connections_active)', 'connections', { instant: true, range: false })], {
      title: 'Active connections',
      decimals: 0,
    }),
    stat([prom('sum(iptv_bandwidth_bytes_per_second)', 'bandwidth', { instant: true, range: false })], { title: 'Bandwidth', unit: 'Bps' }),
    stat([prom('count(iptv_bandwidth_bytes_per_second > 0)', 'streams', { instant: true, range: false })], {
      title: 'Streams with viewers',
      decimals: 0,
    }),
    stat([prom('count(iptv_connections_active > 0)', 'countries', { instant: true, range: false })], { title: 'Countries', decimals: 0 }),
    timeseries([prom('sum(iptv_bandwidth_bytes_per_second)', 'total')], { title: 'Bandwidth total', unit: 'Bps', size: { w: 8, h: 8 } }),
    timeseries([prom('sum by (stream) (iptv_bandwidth_bytes_per_second)', '{{stream}}')], {
      title: 'Bandwidth per stream',
      unit: 'Bps',
      size: { w: 8, h: 8 },
      custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 30 },
    }),
    timeseries([prom('sum by (country) (iptv_connections_active)', '{{country}}')], {
      title: 'Connections per country',
      size: { w: 8, h: 8 },
    }),
    // Entity and aggregate channels as current state: one row per stream / group / open connection.
    table([live('iptv/streams', { view: 'current' })], { title: 'Streams (now)', size: { w: 8, h: 9 } }),
    barGauge([live('iptv/connections/aggregates', { view: 'current', filter: 'group = country', fields: ['value', 'count'] })], {
      title: 'Viewers by country (now)',
      decimals: 0,
      size: { w: 8, h: 9 },
    }),
    barGauge([live('iptv/connections/aggregates', { view: 'current', filter: 'group = stream', fields: ['value', 'bitrate_bps'] })], {
      title: 'Bandwidth per stream (now)',
      unit: 'bps',
      size: { w: 8, h: 9 },
    }),
    table(
      [
        live('iptv/connections', {
          view: 'current',
          fields: ['id', 'user', 'stream', 'ip', 'country', 'city', 'isp', 'bitrate_bps', 'bytes', 'started_at'],
        }),
      ],
      {
        title: 'Open connections (now)',
        size: { w: 24, h: 10 },
        overrides: [
          { matcher: { id: 'byName', options: 'bitrate_bps' }, properties: [{ id: 'unit', value: 'bps' }] },
          { matcher: { id: 'byName', options: 'bytes' }, properties: [{ id: 'unit', value: 'bytes' }] },
        ],
      },
    ),
    panel(
      'geomap',
      [live('iptv/connections', { view: 'current', fields: ['id', 'latitude', 'longitude', 'city', 'country', 'stream', 'bitrate_bps'] })],
      {
        title: 'Viewers on the map (open connections)',
        size: { w: 24, h: 12 },
        options: {
          view: { id: 'zero', lat: 20, lon: 0, zoom: 1.5, allLayers: true },
          controls: { showZoom: true, mouseWheelZoom: true, showAttribution: true },
          basemap: { type: 'default', name: 'Basemap', config: {} },
          layers: [
            {
              type: 'markers',
              name: 'Viewers',
              config: {
                showLegend: true,
                style: {
                  size: { fixed: 6, min: 4, max: 15, field: 'bitrate_bps' },
                  color: { fixed: 'green' },
                  opacity: 0.6,
                  symbol: { mode: 'fixed', fixed: 'img/icons/marker/circle.svg' },
                },
              },
              location: { mode: 'coords', latitude: 'latitude', longitude: 'longitude' },
              tooltip: true,
            },
          ],
          tooltip: { mode: 'details' },
        },
      },
    ),
    timeseries([prom('histogram_quantile(0.5, sum by (le) (rate(iptv_connection_duration_seconds_bucket[15m])))', 'median session')], {
      title: 'Median session length',
      unit: 's',
      size: { w: 24, h: 7 },
    }),
  ],
});
