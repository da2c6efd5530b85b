/** Starts a real Prometheus (Debian package) on 127.0.0.1 scraping the given targets every second. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './collector-process';
import { EVENT_TIMEOUT_MS, READY_TIMEOUT_MS } from './deadlines';
import { requireBinary } from './system-binary';

export interface PrometheusProcess {
  readonly url: string;
  /** Instant query; returns the result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Polls until the query returns a non-empty vector for which pred holds (default deadline EVENT_TIMEOUT_MS). */
  waitFor(
    promql: string,
    pred?: (v: { metric: Record<string, string>; value: [number, string] }[]) => boolean,
    timeoutMs?: number,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[], extraConfig = ''): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-prom-'));
  const port = await freePort();
  const config = `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: streamgauge
    static_configs:
      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]
${extraConfig}`;
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const proc: ChildProcess = spawn(
    requireBinary('prometheus'),
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/-/ready`, READY_TIMEOUT_MS, proc);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${err}`);
  }
  const query = async (promql: string) => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return body.data.result;
  };
  return {
    url,
    query,
    async waitFor(promql, pred = (v) => v.length > 0, timeoutMs = EVENT_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      let last: Awaited<ReturnType<typeof query>> = [];
      while (Date.now() < deadline) {
        last = await query(promql);
        if (last.length > 0 && pred(last)) {
          return last;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`prometheus: ${promql} did not match within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `promtool check metrics` on an exposition; returns exit status and output. */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync(requireBinary('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
