/**
 * The one backoff of the repository: capped exponential backoff with full jitter, a random delay
 * in [0, min(cap, base * 2^attempt)), so clients cut off together (a collector restart) do not all
 * come back in the same instant.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30)));
}
