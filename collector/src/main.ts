#!/usr/bin/env node
/**
 * Entry point: read config once, build, listen, handle signals. Usage:
 *   streamgauge-collector [--config FILE] [--demo]
 * Environment variables override the file (docs/configuration.md).
 */
import { buildApp } from './app';
import { hostName, isLoopbackHost } from './auth/host-check';
import { ConfigError } from './errors';
import { loadConfig, resolveConfig, type ConfigInput } from './collector-config';

function parseArgs(argv: string[]): { config?: string; demo: boolean } {
  const out: { config?: string; demo: boolean } = { demo: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      out.config = argv[++i];
    } else if (argv[i] === '--demo') {
      out.demo = true;
    } else if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write('usage: streamgauge-collector [--config FILE] [--demo]\n');
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument ${argv[i]}\n`);
      process.exit(2);
    }
  }
  return out;
}

const isLoopback = (host: string): boolean => isLoopbackHost(hostName(host));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let config;
  try {
    config = loadConfig(args.config ?? process.env.SG_CONFIG, process.env);
    if (args.demo && !config.demo.enabled) {
      config = resolveConfig(
        { ...(JSON.parse(JSON.stringify(config)) as ConfigInput), demo: { ...config.demo, enabled: true } },
        {},
        'config + --demo',
      );
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`streamgauge-collector: ${err.message}\n`);
      process.exit(78); // EX_CONFIG: a crash loop would not fix it
    }
    throw err;
  }

  let sg;
  try {
    sg = await buildApp(config);
  } catch (err) {
    // Feature sections (telemetry rules, chains) check what the schema cannot when they are built.
    if (err instanceof ConfigError) {
      process.stderr.write(`streamgauge-collector: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const { logger } = sg;
  if (!sg.auth.enabled) {
    if (!isLoopback(config.server.host) && !config.auth.allowInsecure) {
      logger.fatal(
        { event: 'insecure_refused', host: config.server.host },
        `refusing to listen on ${config.server.host} with no API keys configured: add auth keys, listen on 127.0.0.1, or set auth.allowInsecure (SG_ALLOW_INSECURE=true)`,
      );
      await sg.close();
      process.exit(78);
    }
    // The separate metrics listener follows the same rule, unless a bearer token guards it.
    const metricsHost = config.auth.metrics.host || config.server.host;
    if (config.auth.metrics.port > 0 && !isLoopback(metricsHost) && !config.auth.allowInsecure && !config.auth.metrics.bearerToken) {
      logger.fatal(
        { event: 'insecure_refused', host: metricsHost, port: config.auth.metrics.port },
        `refusing to serve /metrics on ${metricsHost}:${config.auth.metrics.port} with no API keys and no auth.metrics.bearerToken: set one, use a loopback auth.metrics.host, or set auth.allowInsecure`,
      );
      await sg.close();
      process.exit(78);
    }
    logger.warn({ event: 'auth_disabled' }, 'WARNING: no API keys configured: anyone who can reach this port can publish and subscribe');
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const hard = setTimeout(() => process.exit(1), config.server.shutdownTimeoutMs + 5_000);
    hard.unref();
    await sg.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const address = await sg.app.listen({ host: config.server.host, port: config.server.port });
  if (sg.metricsApp) {
    await sg.metricsApp.listen({ host: config.auth.metrics.host || config.server.host, port: config.auth.metrics.port });
  }
  await sg.start();
  const base = address.replace('[::1]', 'localhost');
  const wsBase = base.replace(/^http/, 'ws');
  process.stdout.write(
    [
      '',
      `Streamgauge collector listening on ${base}`,
      `  WebSocket   ${wsBase}${config.ws.path}`,
      `  SSE         ${base}${config.sse.path}?channels=…`,
      `  Channels    ${base}/api/v1/channels`,
      `  Status      ${base}/api/v1/status`,
      `  Metrics     ${config.auth.metrics.port > 0 ? `http://${config.auth.metrics.host || config.server.host}:${config.auth.metrics.port}` : base}${config.metrics.path}${config.auth.metrics.bearerToken ? ' (bearer token required)' : ''}`,
      `  Publish     curl -XPOST ${base}/api/v1/publish -H 'content-type: application/json' -d '{"channel":"app/hello","data":{"n":1}}'`,
      config.demo.enabled ? `  Demo        publishing demo traffic (try: curl -N '${base}${config.sse.path}?channels=demo/**&last=5')` : '',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n') + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`streamgauge-collector: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
