import ipaddr from "ipaddr.js";

/**
 * Redis keys of the rate limits: each is a string counter with the TTL of its window (written by
 * rate-limiter-flexible's one script per check). A user's counters carry the `{userId}` hash tag,
 * so they live in that user's cluster slot; an address's counter has its own slot.
 */
export class LimitKeys {
  constructor(private readonly prefix: string) {}

  /** string (counter, TTL = window): uses of `limit` by one user, or by one user towards `peer`. */
  user(userId: string, limit: string, peer?: string): string {
    return `${this.prefix}user:{${userId}}:rate:${limit}${peer === undefined ? "" : `:${peer}`}`;
  }

  /** string (counter, TTL = window): uses of `limit` with one admin key (named by a hash of it, never the key). */
  adminKey(limit: string, adminKeyId: string): string {
    return `${this.prefix}rate:${limit}:admin:${adminKeyId}`;
  }

  /** string (counter, TTL = window): uses of `limit` from one client address (see addressBucket). */
  address(limit: string, address: string): string {
    return `${this.prefix}rate:${limit}:${addressBucket(address)}`;
  }
}

/**
 * Whose budget an address spends: an IPv4 address (also when written IPv4-mapped, `::ffff:a.b.c.d`)
 * is one client; an IPv6 address counts as its /64, the smallest network a provider hands out,
 * since one host may pick any address in it. Anything else (no IP) is counted as written.
 */
export function addressBucket(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const ip = ipaddr.parse(address);
  if (ip.kind() === "ipv4") return ip.toString();
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts.slice(0, 4).map((part) => part.toString(16)).join(":")}::/64`;
}
