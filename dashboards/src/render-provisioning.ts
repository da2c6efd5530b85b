/** Data source and dashboard-provider provisioning, from the same constants the panels use. */
import { PROMETHEUS, SCRAPE_INTERVAL, STREAMGAUGE } from './datasources';

/** Where the dashboard JSON lives inside the Grafana container (docker-compose.yml mounts provisioning/). */
export const DASHBOARD_DIR = 'provisioning/dashboards/streamgauge';

export function grafanaDatasources() {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Streamgauge',
        type: STREAMGAUGE.type,
        uid: STREAMGAUGE.uid,
        access: 'proxy',
        orgId: 1,
        url: 'http://collector:8080',
        isDefault: true,
        editable: false,
        version: 1,
        jsonData: {
          accessMode: 'proxy',
          collectorUrl: 'http://collector:8080',
          directUrl: 'http://localhost:8080',
          pollIntervalMs: 1000,
        },
        // Never in jsonData: viewers can read jsonData. Grafana interpolates the variable at startup.
        secureJsonData: { apiKey: '$SG_GRAFANA_API_KEY' },
      },
      {
        name: 'Prometheus',
        type: PROMETHEUS.type,
        uid: PROMETHEUS.uid,
        access: 'proxy',
        orgId: 1,
        url: 'http://prometheus:9090',
        isDefault: false,
        editable: false,
        version: 1,
        jsonData: { httpMethod: 'POST', timeInterval: SCRAPE_INTERVAL },
      },
    ],
  };
}

export function grafanaDashboardProvider() {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'streamgauge',
        orgId: 1,
        folder: 'Streamgauge',
        folderUid: 'streamgauge',
        type: 'file',
        disableDeletion: true,
        updateIntervalSeconds: 30,
        allowUiUpdates: false,
        options: { path: `/etc/grafana/${DASHBOARD_DIR}`, foldersFromFilesStructure: false },
      },
    ],
  };
}
