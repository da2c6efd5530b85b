/**
 * Deadlines for test waits. They only bound a hang: every wait returns as soon as its event or
 * state arrives, so a generous deadline costs nothing when things work, and a tight one turns a
 * loaded machine into failures (issue 18: 31 suites once failed at a 15 s readiness wait).
 * Both are overridable from the environment for slower machines (docs/testing.md).
 */

function fromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`${name}=${raw}: expected a positive number of milliseconds`);
  }
  return n;
}

/** How long a started process (collector, Prometheus, Redis, hardhat) may take to become ready. */
export const READY_TIMEOUT_MS = fromEnv('SG_TEST_READY_TIMEOUT_MS', 90_000);

/** How long a test waits for one expected event or state (a frame, a metric value, a close). */
export const EVENT_TIMEOUT_MS = fromEnv('SG_TEST_EVENT_TIMEOUT_MS', 30_000);

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs naming `what`. */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = EVENT_TIMEOUT_MS,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) {
        return v;
      }
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms${lastErr ? ` (last error: ${String(lastErr)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
