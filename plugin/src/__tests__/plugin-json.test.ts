/**
 * @jest-environment node
 */
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pluginJson from '../plugin.json';

// Grafana's plugin.json schema, vendored in the repository with its source and date
// (plugin/vendor/grafana/README.md): the test reads nothing outside the repository.
const schemaPath = join(__dirname, '../../vendor/grafana/plugin.schema.json');

describe('plugin.json', () => {
  test("is valid against Grafana's plugin.json schema", () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    delete schema.$schema;
    // The schema's patterns use escapes that the `u` flag rejects; Grafana validates without it.
    const ajv = new Ajv({ strict: false, unicodeRegExp: false, allErrors: true, logger: false });
    const validate = ajv.compile(schema);
    expect(validate(pluginJson) ? [] : validate.errors).toEqual([]);
  });

  test('declares what the plugin does and supports Grafana 12.3 and later', () => {
    expect(pluginJson).toMatchObject({
      id: 'streamgauge-live-datasource',
      type: 'datasource',
      streaming: true,
      metrics: true,
      annotations: true,
      logs: true,
      dependencies: { grafanaDependency: '>=12.3.0' },
    });
  });

  test('the proxy routes send the API key to collectorUrl: viewers reach only reads, subscribe and read tokens, the rest is Admin only', () => {
    const auth = [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiKey }}' }];
    const viewer = (path: string, method: string) => ({
      path: `sg/${path}`,
      method,
      reqSignedIn: true,
      reqRole: 'Viewer',
      url: `{{ .JsonData.collectorUrl }}/${path}`,
      headers: auth,
    });
    // Order matters: Grafana takes the first route whose method matches and whose path prefixes the request
    // (pkg/api/pluginproxy/ds_proxy.go validateRequest); the catch-all `sg` must stay last.
    expect(pluginJson.routes).toEqual([
      viewer('api/v1/read-token', 'POST'),
      viewer('api/v1/stream-ticket', 'POST'),
      viewer('api/v1/channels', 'GET'),
      viewer('api/v1/messages', 'GET'),
      viewer('api/v1/snapshot', 'GET'),
      viewer('api/v1/status', 'GET'),
      viewer('api/v1/stream', 'GET'),
      viewer('ws', 'GET'),
      viewer('readyz', 'GET'),
      { path: 'sg', reqSignedIn: true, reqRole: 'Admin', url: '{{ .JsonData.collectorUrl }}', headers: auth },
    ]);
  });
});
