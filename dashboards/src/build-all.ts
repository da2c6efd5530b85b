/**
 * Every generated file, as path (relative to the repository root) → content. generate.ts writes
 * them; collector/test/provisioning checks that the committed copies are identical.
 */
import { stringify } from 'yaml';
import { collectorDashboard } from './dashboards/collector';
import { chainMonitor } from './dashboards/chain-monitor';
import { pipelineQuality } from './dashboards/pipeline-quality';
import { serviceHealth } from './dashboards/service-health';
import { streamsConnections } from './dashboards/streams-connections';
import { GENERATED_MARKER, type GeneratedDashboard } from './panels';
import { grafanaContactPoints, grafanaPolicies, grafanaRules, prometheusRules } from './render-alerting';
import { DASHBOARD_DIR, grafanaDashboardProvider, grafanaDatasources } from './render-provisioning';

export const DASHBOARDS: readonly GeneratedDashboard[] = [
  chainMonitor,
  streamsConnections,
  serviceHealth,
  pipelineQuality,
  collectorDashboard,
];

const yaml = (o: unknown) => `# ${GENERATED_MARKER}\n${stringify(o, { lineWidth: 0 })}`;

export function buildAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of DASHBOARDS) {
    files.set(`${DASHBOARD_DIR}/${d.uid!.replace(/^sg-/, '')}.json`, `${JSON.stringify(d, null, 2)}\n`);
  }
  files.set('provisioning/dashboards/dashboards.yaml', yaml(grafanaDashboardProvider()));
  files.set('provisioning/datasources/datasources.yaml', yaml(grafanaDatasources()));
  files.set('provisioning/alerting/rules.yaml', yaml(grafanaRules()));
  files.set('provisioning/alerting/contactpoints.yaml', yaml(grafanaContactPoints()));
  files.set('provisioning/alerting/policies.yaml', yaml(grafanaPolicies()));
  files.set('prometheus/rules.yml', yaml(prometheusRules()));
  return files;
}
