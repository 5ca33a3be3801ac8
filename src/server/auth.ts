import { createHash, timingSafeEqual } from "node:crypto";
import { forbidden, unauthenticated } from "../errors/errors";

/** The token of an `Authorization: Bearer <token>` value, or undefined. */
export function parseBearer(header: unknown): string | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^Bearer\s+([A-Za-z0-9_-]{1,512})\s*$/i.exec(header);
  return m?.[1];
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Throws unless `presented` equals the configured admin key. Both sides are hashed first so the
 * comparison is constant-time whatever their lengths.
 */
export function assertAdmin(configured: string | undefined, presented: unknown): void {
  if (!configured) throw unauthenticated("Admin calls are disabled: ADMIN_API_KEY is not configured");
  if (typeof presented !== "string" || !timingSafeEqual(digest(configured), digest(presented))) {
    throw forbidden("A valid x-api-key header is required");
  }
}
