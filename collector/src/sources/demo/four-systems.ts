/**
 * The demo generator: plays the four systems of issue 4 (IoT attendance, IPTV panel, DNS server,
 * data pipeline) with plausible data. `tick(now)` returns the messages of one step; the demo source
 * publishes them as one batch. Pure apart from its random source, so tests can seed it.
 */
import type { PublishItem } from '@streamgauge/protocol';
import { DEMO_COMPONENTS, DEMO_DATASETS, DEMO_PIPELINE_SOURCES, DEMO_STREAMS } from '../../telemetry/demo-config';
import { DEMO_CITIES, type DemoCity } from './cities';

export type Random = () => number;

/** mulberry32: a tiny seeded PRNG (https://gist.github.com/tommyettinger/46a874533244883189143505d203312c). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Connection {
  id: string;
  user: string;
  stream: string;
  ip: string;
  city: DemoCity;
  isp: string;
  bytes: number;
  bitrate: number;
  startedAt: number;
  endsAt: number;
}

type Status = 'online' | 'degraded' | 'offline';

export interface FourSystemsOptions {
  /** Live connections the IPTV panel hovers around. */
  targetConnections?: number;
  /** Seconds a connection lives unless upserted again (the publisher "crashing" leaves it to expire). */
  connectionTtlSeconds?: number;
}

const DEVICES = ['gate-a', 'gate-b', 'lobby', 'warehouse'];
const DNS_SERVERS = [
  { component: 'ns1', role: 'primary' },
  { component: 'ns2', role: 'secondary' },
  { component: 'resolver-1', role: 'resolver' },
  { component: 'resolver-2', role: 'resolver' },
];
const STREAM_BITRATES: Record<string, number> = {
  'news-hd': 5_000_000,
  'sports-1': 8_000_000,
  'sports-2': 8_000_000,
  movies: 6_000_000,
  kids: 3_000_000,
  music: 2_000_000,
};

export class FourSystems {
  private readonly rnd: Random;
  private readonly targetConnections: number;
  private readonly ttl: number;
  private tickNo = 0;
  private nextId = 1;
  private readonly connections = new Map<string, Connection>();
  private readonly components = new Map<string, Status>(DEMO_COMPONENTS.map((c) => [c, 'online']));
  private readonly dnsStatus = new Map<string, Status>(DNS_SERVERS.map((s) => [s.component, 'online']));
  private queueSize = 3;
  private failedSyncs = 0;
  private lastSyncAt = 0;
  /** A "bad spell" of the attendance system: cloud down, queue growing, more failed scans. */
  private outageTicks = 0;

  constructor(o: FourSystemsOptions = {}, rnd: Random = Math.random) {
    this.rnd = rnd;
    this.targetConnections = o.targetConnections ?? 40;
    this.ttl = o.connectionTtlSeconds ?? 30;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  private chance(p: number): boolean {
    return this.rnd() < p;
  }

  private pickCity(): DemoCity {
    const total = DEMO_CITIES.reduce((n, c) => n + c.weight, 0);
    let r = this.rnd() * total;
    for (const c of DEMO_CITIES) {
      r -= c.weight;
      if (r < 0) {
        return c;
      }
    }
    return DEMO_CITIES[0];
  }

  /** Messages of one step (about one second of activity). */
  tick(now: number): PublishItem[] {
    this.tickNo++;
    const hello: PublishItem[] =
      this.tickNo === 1
        ? [
            // Each system announces its start, so every events channel has a first line at once.
            {
              channel: 'attendance/events',
              data: {
                type: 'service_started',
                level: 'info',
                message: 'attendance service started (4 devices)',
                component: 'reader',
                device: null,
              },
            },
            {
              channel: 'dns/events',
              data: { category: 'config', level: 'info', message: 'configuration loaded: 3 zones', role: 'primary', server: 'ns1' },
            },
          ]
        : [];
    return [...hello, ...this.attendance(now), ...this.iptv(now), ...this.dns(now), ...this.pipeline(now)];
  }

  // ---- IoT attendance -------------------------------------------------------------------------

  private attendance(now: number): PublishItem[] {
    const out: PublishItem[] = [];
    if (this.outageTicks === 0 && this.chance(0.004)) {
      this.outageTicks = 60 + Math.floor(this.rnd() * 60);
      this.components.set('cloud', 'offline');
      out.push(this.componentItem('cloud', 'offline', 'cloud API unreachable: connect ETIMEDOUT'));
      out.push({
        channel: 'attendance/events',
        data: { type: 'cloud_outage', level: 'critical', message: 'cloud sync stopped: API unreachable', component: 'cloud', device: null },
      });
    }
    const outage = this.outageTicks > 0;
    if (outage && --this.outageTicks === 0) {
      this.components.set('cloud', 'online');
      out.push(this.componentItem('cloud', 'online', 'connected'));
      out.push({
        channel: 'attendance/events',
        data: { type: 'cloud_outage', level: 'info', message: 'cloud sync resumed', component: 'cloud', device: null },
      });
    }
    const scans = Math.floor(this.rnd() * 4);
    for (let i = 0; i < scans; i++) {
      const device = this.pick(DEVICES);
      const failed = this.chance(outage ? 0.35 : this.components.get('camera') === 'degraded' ? 0.2 : 0.04);
      const latency = Math.round(80 + this.rnd() * 300 + (failed ? 900 * this.rnd() : 0));
      out.push({
        channel: 'attendance/scans',
        data: {
          device,
          employee: `emp-${String(1 + Math.floor(this.rnd() * 240)).padStart(4, '0')}`,
          result: failed ? 'failed' : 'success',
          latency_ms: latency,
        },
      });
      if (failed && this.chance(0.3)) {
        out.push({
          channel: 'attendance/events',
          data: {
            type: 'scan_rejected',
            level: 'warning',
            message: `scan rejected at ${device}: face not matched`,
            device,
            component: 'camera',
          },
        });
      }
      this.queueSize++;
    }
    // The sync job drains the queue unless the cloud is down.
    if (!outage && this.chance(0.5)) {
      const drained = Math.min(this.queueSize, 2 + Math.floor(this.rnd() * 6));
      this.queueSize -= drained;
      this.lastSyncAt = now;
      if (this.chance(0.05)) {
        this.failedSyncs++;
        out.push({
          channel: 'attendance/events',
          data: {
            type: 'sync_failed',
            level: 'error',
            message: 'sync batch failed: HTTP 502 from cloud',
            component: 'cloud',
            device: null,
          },
        });
      } else if (this.failedSyncs > 0 && this.chance(0.1)) {
        this.failedSyncs--;
      }
    } else if (outage) {
      this.failedSyncs += this.chance(0.3) ? 1 : 0;
    }
    out.push({
      channel: 'attendance/sync',
      data: { queue: 'main', queue_size: this.queueSize, failed_syncs: this.failedSyncs, last_sync_at: this.lastSyncAt || null },
    });
    for (const c of ['camera', 'sms', 'reader'] as const) {
      const s = this.components.get(c)!;
      if (s === 'online' && this.chance(0.003)) {
        const next: Status = this.chance(0.7) ? 'degraded' : 'offline';
        this.components.set(c, next);
        out.push(this.componentItem(c, next, next === 'degraded' ? `${c}: high error rate` : `${c}: no heartbeat`));
        out.push({
          channel: 'attendance/events',
          data: {
            type: 'component_status',
            level: next === 'offline' ? 'error' : 'warning',
            message: `${c} is ${next}`,
            component: c,
            device: null,
          },
        });
      } else if (s !== 'online' && this.chance(0.05)) {
        this.components.set(c, 'online');
        out.push(this.componentItem(c, 'online', 'recovered'));
        out.push({
          channel: 'attendance/events',
          data: { type: 'component_status', level: 'info', message: `${c} recovered`, component: c, device: null },
        });
      }
    }
    if (this.tickNo === 1 || this.tickNo % 30 === 0) {
      // Republish every component now and then: a dashboard opened later still sees fresh rows.
      for (const c of DEMO_COMPONENTS) {
        out.push(this.componentItem(c, this.components.get(c)!, this.components.get(c) === 'online' ? 'ok' : 'see events'));
      }
    }
    return out;
  }

  private componentItem(component: string, status: Status, detail: string): PublishItem {
    return { channel: 'attendance/components', data: { component, status, detail } };
  }

  // ---- IPTV panel -----------------------------------------------------------------------------

  private iptv(now: number): PublishItem[] {
    const out: PublishItem[] = [];
    // Close connections whose session ended; a few vanish without a goodbye and expire by TTL.
    for (const c of [...this.connections.values()]) {
      if (c.endsAt <= now) {
        this.connections.delete(c.id);
        if (this.chance(0.8)) {
          out.push({ channel: 'iptv/connections', key: c.id, delete: true, data: { reason: 'closed' } });
        }
      }
    }
    const want = this.targetConnections * (0.8 + 0.4 * Math.sin(this.tickNo / 120));
    const opening = this.connections.size < want ? 1 + Math.floor(this.rnd() * 3) : this.chance(0.2) ? 1 : 0;
    for (let i = 0; i < opening; i++) {
      const city = this.pickCity();
      const stream = this.pick(DEMO_STREAMS);
      const c: Connection = {
        id: `c${this.nextId++}`,
        user: `user${1 + Math.floor(this.rnd() * 500)}`,
        stream,
        ip: `${10 + Math.floor(this.rnd() * 200)}.${Math.floor(this.rnd() * 256)}.${Math.floor(this.rnd() * 256)}.${1 + Math.floor(this.rnd() * 254)}`,
        city,
        isp: this.pick(city.isps),
        bytes: 0,
        bitrate: Math.round(STREAM_BITRATES[stream] * (0.7 + 0.3 * this.rnd())),
        startedAt: now,
        endsAt: now + (20 + this.rnd() * 600) * 1000,
      };
      this.connections.set(c.id, c);
    }
    // Upsert every live connection every 5 ticks (and new ones now), refreshing their TTL.
    for (const c of this.connections.values()) {
      const fresh = c.startedAt === now;
      if (!fresh && (this.tickNo + Number(c.id.slice(1))) % 5 !== 0) {
        continue;
      }
      c.bytes = Math.round(((now - c.startedAt) / 1000) * (c.bitrate / 8));
      out.push({
        channel: 'iptv/connections',
        ttl: this.ttl,
        data: {
          id: c.id,
          user: c.user,
          stream: c.stream,
          ip: c.ip,
          country: c.city.country,
          city: c.city.city,
          isp: c.isp,
          latitude: c.city.latitude,
          longitude: c.city.longitude,
          bytes: c.bytes,
          bitrate_bps: c.bitrate,
          started_at: c.startedAt,
        },
      });
    }
    if (this.tickNo % 5 === 1) {
      for (const s of DEMO_STREAMS) {
        const viewers = [...this.connections.values()].filter((c) => c.stream === s).length;
        out.push({
          channel: 'iptv/streams',
          data: { stream: s, viewers, bitrate_bps: STREAM_BITRATES[s], status: this.chance(0.02) ? 'degraded' : 'up' },
        });
      }
    }
    return out;
  }

  // ---- DNS server -----------------------------------------------------------------------------

  private dns(now: number): PublishItem[] {
    const out: PublishItem[] = [];
    if (this.chance(0.25)) {
      const s = this.pick(DNS_SERVERS);
      const r = this.rnd();
      const clientIp = `203.0.113.${1 + Math.floor(this.rnd() * 254)}`;
      const event =
        r < 0.35
          ? { category: 'security', level: 'warning', message: `rate limit applied to ${clientIp}: 1200 qps`, client_ip: clientIp }
          : r < 0.45
            ? {
                category: 'security',
                level: 'critical',
                message: `possible DNS amplification from ${clientIp}: ANY queries`,
                client_ip: clientIp,
              }
            : r < 0.6
              ? {
                  category: 'security',
                  level: 'error',
                  message: 'DNSSEC validation failed for example-bank.test',
                  zone: 'example-bank.test',
                }
              : r < 0.8
                ? { category: 'config', level: 'info', message: 'zone corp.example reloaded (serial 2026112301)', zone: 'corp.example' }
                : r < 0.9
                  ? {
                      category: 'config',
                      level: 'warning',
                      message: 'zone transfer to ns2 refused: TSIG key mismatch',
                      zone: 'corp.example',
                    }
                  : { category: 'health', level: 'info', message: `${s.component} cache hit ratio 0.${80 + Math.floor(this.rnd() * 19)}` };
      out.push({ channel: 'dns/events', data: { ...event, role: s.role, server: s.component } });
    }
    for (const s of DNS_SERVERS) {
      const st = this.dnsStatus.get(s.component)!;
      let next = st;
      if (st === 'online' && this.chance(0.002)) {
        next = 'degraded';
      } else if (st !== 'online' && this.chance(0.08)) {
        next = 'online';
      }
      if (next !== st) {
        this.dnsStatus.set(s.component, next);
        out.push({
          channel: 'dns/events',
          data: {
            category: 'health',
            level: next === 'online' ? 'info' : 'error',
            message: `${s.component} is ${next}`,
            role: s.role,
            server: s.component,
          },
        });
      }
      if (next !== st || this.tickNo % 5 === 1) {
        out.push({
          channel: 'dns/health',
          data: {
            component: s.component,
            role: s.role,
            status: next,
            qps: Math.round((s.role === 'resolver' ? 900 : 300) * (0.8 + 0.4 * this.rnd())),
            latency_ms: Math.round((next === 'online' ? 2 : 40) + this.rnd() * 5),
            detail: next === 'online' ? 'ok' : 'upstream timeouts',
          },
        });
      }
    }
    void now;
    return out;
  }

  // ---- Data pipeline --------------------------------------------------------------------------

  private pipeline(now: number): PublishItem[] {
    const out: PublishItem[] = [];
    if (this.tickNo % 3 === 0) {
      const source = this.pick(DEMO_PIPELINE_SOURCES);
      const failed = this.chance(0.08);
      out.push({
        channel: 'pipeline/runs',
        data: {
          source,
          status: failed ? 'failed' : 'success',
          records: failed ? 0 : 200 + Math.floor(this.rnd() * 2000),
          duration_s: Math.round((5 + this.rnd() * 40) * 10) / 10,
          errors: failed ? 1 + Math.floor(this.rnd() * 20) : Math.floor(this.rnd() * 3),
        },
      });
    }
    if (this.tickNo % 10 === 1) {
      for (const dataset of DEMO_DATASETS) {
        const completeness = Math.round((0.85 + this.rnd() * 0.15) * 1000) / 1000;
        const freshness = Math.round(30 + this.rnd() * (dataset === 'forecasts' ? 4000 : 900));
        out.push({
          channel: 'pipeline/quality',
          data: {
            dataset,
            completeness,
            freshness_s: freshness,
            invalid_rows: Math.floor(this.rnd() * 40),
            status: freshness > 3600 ? 'stale' : completeness < 0.9 ? 'degraded' : 'ok',
          },
        });
      }
    }
    void now;
    return out;
  }
}
