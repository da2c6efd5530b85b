/** Service events and health: replaces the attendance system's status page and the DNS log tail. */
import { alertList, dashboard, live, logs, prom, table, panel, timeseries } from '../panels';

export const serviceHealth = dashboard({
  uid: 'sg-service-health',
  title: 'Service events and health',
  description: 'Component status, DNS health, the live event log and the alerts firing now.',
  tags: ['attendance', 'dns', 'alerts'],
  panels: [
    panel('state-timeline', [prom('min by (component) (attendance_component_up)', '{{component}}')], {
      title: 'Component status',
      size: { w: 16, h: 8 },
      mappings: [
        {
          type: 'value',
          options: {
            '0': { text: 'offline', color: 'red' },
            '0.5': { text: 'degraded', color: 'orange' },
            '1': { text: 'online', color: 'green' },
          },
        },
      ],
      options: { showValue: 'never', mergeValues: true, rowHeight: 0.8 },
    }),
    // State channels as current state: one row per component, what is true now.
    table([live('attendance/components', { view: 'current' })], { title: 'Components (now)', size: { w: 8, h: 8 } }),
    table([live('dns/health', { view: 'current' })], { title: 'DNS health (now)', size: { w: 8, h: 8 } }),
    timeseries([prom('sum by (level) (rate(dns_events_total[5m]))', '{{level}}')], {
      title: 'DNS events per second by level',
      unit: 'ops',
      size: { w: 8, h: 8 },
    }),
    alertList({ title: 'Alerts firing (Grafana)', size: { w: 8, h: 8 } }),
    logs([live('dns/events', { bufferSize: 500 })], { title: 'DNS events', size: { w: 12, h: 12 } }),
    logs([live('attendance/events', { bufferSize: 500 })], { title: 'Attendance events', size: { w: 12, h: 12 } }),
    table([live('alerts/active', { view: 'current' })], {
      title: 'Alerts received by the collector (webhook, active now)',
      size: { w: 16, h: 8 },
    }),
    timeseries([prom('max(streamgauge_alerts_firing)', 'firing')], { title: 'Alerts firing', decimals: 0, size: { w: 8, h: 8 } }),
  ],
});
