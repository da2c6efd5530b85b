/**
 * Capped exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^attempt)),
 * so clients cut off together (a collector restart) do not all come back in the same instant.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelay(
  attempt: number,
  minDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random
): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
