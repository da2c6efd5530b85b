/**
 * Start-up against an unreachable Redis: the collector does not serve without its store; it exits
 * at once with status 1 and a message naming the address and the reason, for a supervisor to restart it.
 */
import { spawnSync } from 'node:child_process';
import { COLLECTOR_MAIN, freePort } from '../helpers/collector-process';

test('behavior: with store.type redis and no Redis listening, the collector exits with 1 and says which address failed and why', async () => {
  const redisPort = await freePort();
  const port = await freePort();
  const r = spawnSync(process.execPath, [COLLECTOR_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      SG_HOST: '127.0.0.1',
      SG_PORT: String(port),
      SG_STORE: 'redis',
      SG_REDIS_URLS: `redis://user:secret@127.0.0.1:${redisPort}`,
      SG_LOG_LEVEL: 'warn',
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`cannot reach Redis at 127.0.0.1:${redisPort} (store.redis.urls): connect ECONNREFUSED`);
  // The URL's password never reaches the output.
  expect(`${r.stdout}${r.stderr}`).not.toContain('secret');
});
