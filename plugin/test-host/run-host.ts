/**
 * Runs the test host by hand, to look at the plugin in a browser without Grafana:
 *   npx tsx plugin/test-host/run-host.ts --collector http://127.0.0.1:8080 [--api-key KEY]
 *     [--channel demo/ticks] [--dist plugin/dist] [--port 3999]
 * then open the printed URL. Ctrl-C stops it.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startHostServer } from './host-server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      collector: { type: 'string', default: 'http://127.0.0.1:8080' },
      'api-key': { type: 'string' },
      channel: { type: 'string' },
      dist: { type: 'string', default: resolve(__dirname, '..', 'dist') },
      port: { type: 'string', default: '3999' },
    },
  });
  const host = await startHostServer({
    distDir: resolve(values.dist!),
    jsonData: { collectorUrl: values.collector, accessMode: 'proxy' },
    secureJsonData: values['api-key'] ? { apiKey: values['api-key'] } : {},
    query: values.channel ? { channel: values.channel } : {},
    port: Number(values.port),
  });
  process.stdout.write(
    `test host on ${host.url} (plugin ${host.pluginId}, routes: ${host.routes.map((r) => r.path).join(', ') || 'none'})\n`
  );
  const stop = (): void => {
    void host.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
