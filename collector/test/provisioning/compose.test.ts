/** docker-compose.yml is valid for Debian's docker-compose and mounts or builds only what exists. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { requireBinary } from '../helpers/system-binary';
import { ROOT } from './provisioned-files';

describe('docker-compose.yml', () => {
  let config: any;

  beforeAll(() => {
    const r = spawnSync(requireBinary('docker-compose'), ['-f', join(ROOT, 'docker-compose.yml'), 'config'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (r.error || r.status !== 0) {
      throw new Error(`docker-compose config failed (${r.status}): ${r.stderr}${r.error ?? ''}`);
    }
    config = parse(r.stdout);
  });

  test('docker-compose config resolves the file to the five demo services', () => {
    expect(Object.keys(config.services).sort()).toEqual(['chain', 'chain-traffic', 'collector', 'grafana', 'prometheus']);
  });

  test('every bind-mounted host path exists', () => {
    const missing: string[] = [];
    for (const [name, s] of Object.entries<any>(config.services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'bind' ? v.source : undefined;
        if (source && (isAbsolute(source) || source.startsWith('.')) && !existsSync(resolve(ROOT, source))) {
          missing.push(`${name}: ${source}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  test('every build context and Dockerfile exists', () => {
    const builds = Object.values<any>(config.services).filter((s) => s.build);
    expect(builds.length).toBe(4);
    for (const s of builds) {
      const context = resolve(ROOT, s.build.context);
      expect(existsSync(context)).toBe(true);
      expect(existsSync(resolve(context, s.build.dockerfile ?? 'Dockerfile'))).toBe(true);
    }
  });

  test('images are pinned to a version, never latest', () => {
    for (const s of Object.values<any>(config.services).filter((x) => x.image)) {
      expect(s.image).toMatch(/:v?\d+\.\d+\.\d+$/);
    }
  });

  test('Grafana is built with the plugin inside (nothing to build before compose), allows exactly it unsigned, and mounts provisioning', () => {
    const g = config.services.grafana;
    const pluginId = JSON.parse(readFileSync(join(ROOT, 'plugin/src/plugin.json'), 'utf8')).id;
    expect(g.image).toBeUndefined();
    expect(g.build).toEqual({ context: ROOT, dockerfile: 'deploy/grafana/Dockerfile' });
    const mounts = (g.volumes as any[]).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    // No bind mount of plugin/dist: on a fresh clone it does not exist (Docker would create it empty).
    expect(mounts.filter((m) => m.includes('plugin'))).toEqual([]);
    expect(mounts.some((m) => /\/provisioning:\/etc\/grafana\/provisioning/.test(m))).toBe(true);
    expect(g.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS).toBe(pluginId);
    expect(g.environment.SG_GRAFANA_API_KEY).toBe(config.services.collector.environment.SG_GRAFANA_API_KEY);

    // The image's last stage copies the built plugin into Grafana's plugin path, outside the
    // /var/lib/grafana volume (a volume keeps the files of the first image forever).
    const dockerfile = readFileSync(join(ROOT, 'deploy/grafana/Dockerfile'), 'utf8');
    const pluginsPath = /^ENV GF_PATHS_PLUGINS=(\S+)$/m.exec(dockerfile)![1];
    expect(pluginsPath.startsWith('/var/lib/grafana')).toBe(false);
    expect(dockerfile).toMatch(new RegExp(`^COPY --from=plugin (--chown=472:0 )?/app/plugin/dist ${pluginsPath}/${pluginId}$`, 'm'));
    // Grafana runs as its own user again after the copy.
    expect(dockerfile.trimEnd().split('\n').pop()).toBe('USER 472');
    expect(dockerfile).toMatch(/^FROM \$\{GRAFANA_IMAGE\}$/m);
    expect(dockerfile).toMatch(/^ARG GRAFANA_IMAGE=grafana\/grafana:\d+\.\d+\.\d+$/m);
  });

  test('the collector log and the dev chain start fresh together: the log is a tmpfs, the chain keeps no volume', () => {
    expect(config.services.collector.tmpfs).toEqual([expect.stringMatching(/^\/data:/)]);
    expect((config.services.collector.volumes as any[]).map((v) => (typeof v === 'string' ? v : v.target))).not.toContain('/data');
    expect(config.services.chain.volumes).toBeUndefined();
    expect(Object.keys(config.volumes ?? {})).not.toContain('collector-data');
    // The image declares no VOLUME at /data (it would keep the log in an anonymous volume).
    expect(readFileSync(join(ROOT, 'collector/Dockerfile'), 'utf8')).not.toMatch(/^VOLUME/m);
  });

  test('the chain image installs exactly its lock file', () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy/chain/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json \.\/$/m);
    expect(dockerfile).toMatch(/^RUN npm ci /m);
    expect(existsSync(join(ROOT, 'deploy/chain/package-lock.json'))).toBe(true);
  });

  test('the header, docs/demo.md and README say `docker compose up` is all it takes', () => {
    const header = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .join('\n');
    for (const text of [header, readFileSync(join(ROOT, 'docs/demo.md'), 'utf8'), readFileSync(join(ROOT, 'README.md'), 'utf8')]) {
      expect(text).toContain('docker compose up');
      expect(text).not.toMatch(/npm (ci|install)[^\n]*&&[^\n]*build -w plugin/);
      expect(text).not.toContain('plugin/dist is mounted');
    }
  });

  test('Prometheus mounts prometheus/ with its config and rules', () => {
    const p = config.services.prometheus;
    expect(p.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const mounts = (p.volumes as any[]).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(mounts.some((m) => /\/prometheus:\/etc\/prometheus/.test(m))).toBe(true);
  });

  test('the collector image builds in stages, runs as a non-root user and has a healthcheck', () => {
    const dockerfile = readFileSync(join(ROOT, 'collector/Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/readyz/m);
  });

  test("the collector configuration for docker is valid for the collector's own config loader", async () => {
    const { resolveConfig } = await import('../../src/collector-config');
    const file = parse(readFileSync(join(ROOT, 'deploy/collector/docker.yaml'), 'utf8'));
    const cfg = resolveConfig(file, { SG_GRAFANA_API_KEY: 'x'.repeat(32) }, 'docker.yaml');
    expect(cfg.server.host).toBe('0.0.0.0');
    expect(cfg.auth.keys.map((k) => k.name)).toEqual(['grafana']);
    expect(cfg.evm.chains[0].rpcUrls).toEqual(['http://chain:8545']);
  });
});
