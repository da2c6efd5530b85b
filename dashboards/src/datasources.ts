/**
 * Provisioned data sources, referenced by fixed uid from every panel and alert rule.
 * provisioning/datasources/datasources.yaml is generated from these same constants, so a panel
 * cannot point at a uid that is not provisioned (collector/test/provisioning checks it too).
 */
import type { DataSourceRef } from '@grafana/schema';

/** The plugin id from plugin/src/plugin.json. */
export const STREAMGAUGE_TYPE = 'streamgauge-live-datasource';

export const STREAMGAUGE: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: STREAMGAUGE_TYPE, uid: 'streamgauge' };
export const PROMETHEUS: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: 'prometheus', uid: 'prometheus' };
/** Grafana's own data source: alert list and annotation panels use it. */
export const GRAFANA: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: 'grafana', uid: '-- Grafana --' };
/** Server-side expressions in alert rules. */
export const EXPRESSION: Required<Pick<DataSourceRef, 'type' | 'uid'>> = { type: '__expr__', uid: '__expr__' };

/** Prometheus scrapes every 5 s in the demo; Grafana's lowest step matches it. */
export const SCRAPE_INTERVAL = '5s';
