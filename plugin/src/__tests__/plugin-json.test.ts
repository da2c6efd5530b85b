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

  test('the proxy route sends the API key from secureJsonData to collectorUrl', () => {
    expect(pluginJson.routes).toEqual([
      {
        path: 'sg',
        url: '{{ .JsonData.collectorUrl }}',
        reqSignedIn: true,
        headers: [{ name: 'Authorization', content: 'Bearer {{ .SecureJsonData.apiKey }}' }],
      },
    ]);
  });
});
