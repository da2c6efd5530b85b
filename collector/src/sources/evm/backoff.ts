/**
 * Capped exponential backoff with full jitter: sleep = random(0, min(cap, base * 2^attempt)).
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export const BACKOFF_BASE_MS = 250;

export function backoffMs(attempt: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
