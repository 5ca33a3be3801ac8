/** How long to wait before reconnecting or restarting an operation. */
export interface Backoff {
  /** The shortest wait, in milliseconds. @default 500 */
  minDelayMs?: number;
  /** The longest wait, in milliseconds. @default 20000 */
  maxDelayMs?: number;
}

/**
 * The wait before retry number `retries` (0 for the first): exponential from minDelayMs, capped
 * at maxDelayMs, and jittered over its upper half, so that clients dropped together (an instance
 * restart) do not come back together.
 */
export function backoffDelay(retries: number, { minDelayMs = 500, maxDelayMs = 20_000 }: Backoff = {}): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** (retries + 1));
  return Math.max(minDelayMs, ceiling / 2 + (Math.random() * ceiling) / 2);
}
