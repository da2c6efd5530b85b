/** The publisher's retry uses the repository's one backoff (@streamgauge/client). */
export { backoffDelay } from '@streamgauge/client';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
