/**
 * The scale-out deployment files: docker-compose.scale.yml is valid for docker-compose (no engine
 * needed), Prometheus' config passes promtool, the collector config loads, and the three agree on
 * which collectors exist (the load balancer and Prometheus list exactly the compose's collectors).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/collector-config';
import { requireBinary } from '../helpers/system-binary';

const ROOT = resolve(__dirname, '../../..');
const COMPOSE = join(ROOT, 'docker-compose.scale.yml');
const SCALE = join(ROOT, 'deploy/scale');

function composeConfig(): any {
  const r = spawnSync(requireBinary('docker-compose'), ['-f', COMPOSE, 'config'], { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) {
    throw new Error(`docker-compose config failed (${r.status}):\n${r.stderr}`);
  }
  return parse(r.stdout);
}

describe('docker-compose.scale.yml and deploy/scale', () => {
  test('behavior: docker-compose validates the file: redis, two collectors built from collector/Dockerfile, a load balancer, Prometheus', () => {
    const c = composeConfig();
    expect(Object.keys(c.services).sort()).toEqual(['collector-1', 'collector-2', 'lb', 'prometheus', 'redis']);
    for (const name of ['collector-1', 'collector-2']) {
      const s = c.services[name];
      expect(s.build).toEqual({ context: ROOT, dockerfile: 'collector/Dockerfile' });
      expect(s.command).toEqual(['--config', '/etc/streamgauge/collector.yaml']);
      expect(s.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
      expect(s.environment.SG_INSTANCE_NAME).toBe(name);
    }
    expect(c.services.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
  });

  test('behavior: promtool accepts deploy/scale/prometheus.yml', () => {
    const r = spawnSync(requireBinary('promtool'), ['check', 'config', join(SCALE, 'prometheus.yml')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  test('behavior: the load balancer and Prometheus list exactly the compose collectors, and the balancer passes WebSocket upgrades', () => {
    const services = Object.keys(composeConfig().services).filter((s) => s.startsWith('collector-'));
    const nginx = readFileSync(join(SCALE, 'nginx.conf'), 'utf8');
    const upstreams = [...nginx.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(upstreams.sort()).toEqual(services.map((s) => `${s}:8080`).sort());
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(nginx).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    const prom = parse(readFileSync(join(SCALE, 'prometheus.yml'), 'utf8'));
    const job = prom.scrape_configs.find((j: any) => j.job_name === 'streamgauge-collector');
    expect(job.static_configs[0].targets.sort()).toEqual(services.map((s) => `${s}:8080`).sort());
  });

  test('behavior: deploy/scale/collector.yaml loads and selects the Redis store', () => {
    const config = loadConfig(join(SCALE, 'collector.yaml'), { SG_GRAFANA_API_KEY: 'k'.repeat(40), SG_INSTANCE_NAME: 'collector-1' });
    expect(config.store.type).toBe('redis');
    expect(config.store.redis.urls).toEqual(['redis://redis:6379']);
    expect(config.server.instanceName).toBe('collector-1');
    // The same file everywhere: leases, not config, decide which instance runs derived work.
    expect(config.demo.enabled).toBe(true);
    expect(config.telemetry.publishDerived).toBe(true);
  });
});
