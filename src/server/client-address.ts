import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import proxyAddr from "proxy-addr";
import type { TrustProxy } from "../config/config";

/** The client address of an HTTP request or a WebSocket upgrade; null when the socket has already closed. */
export type ClientAddressOf = (req: IncomingMessage) => string | null;

/**
 * How both transports learn the client's address (sessions' `ip`, the per-address rate limits)
 * under TRUST_PROXY. Off: the TCP peer, and X-Forwarded-For is ignored (any client could write
 * it). On: proxy-addr (what express uses) walks X-Forwarded-For from the nearest hop while the
 * hop is trusted (within the hop count, or in the address list) and returns the first address
 * that is not. An entry that is no IP address (the header is free text) yields the TCP peer.
 */
export function clientAddressOf(trust: TrustProxy): ClientAddressOf {
  if (trust === false) return (req) => req.socket.remoteAddress ?? null;
  const trusted = typeof trust === "number" ? (_address: string, hop: number) => hop < trust : proxyAddr.compile(trust);
  return (req) => {
    const peer = req.socket.remoteAddress;
    if (peer === undefined) return null;
    const address = proxyAddr(req, trusted);
    return isIP(address) ? address : peer;
  };
}
