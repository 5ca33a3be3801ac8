import type { IncomingMessage } from "node:http";
import type { VerifyClientCallbackAsync } from "ws";
import { isRedisUnavailable } from "../errors/errors";
import type { ClientAddressOf } from "./client-address";
import type { Services } from "./context";

/** ws answers a refusal as text/html; ours are plain text. */
const PLAIN = { "Content-Type": "text/plain; charset=utf-8" };

/**
 * ws's `verifyClient`: what a WebSocket upgrade must pass before the handshake, so a refused
 * socket costs no WebSocket, no graphql-ws state and no timer. Refusals are plain HTTP answers
 * (a WebSocket client sees them as a failed handshake with that status):
 * - 503 with `Retry-After`: the instance is stopping (a balancer retries another one);
 * - 403: the page's `Origin` is not in ALLOWED_ORIGINS (it costs no Redis call);
 * - 429 with `Retry-After` (seconds): the client address opened its budget of new WebSockets.
 * When Redis cannot count, the upgrade goes on: the socket then meets the outage as documented
 * (close 1013 for a token at connect, SERVICE_UNAVAILABLE for its operations).
 */
export function checkUpgrade(services: Services, clientAddress: ClientAddressOf): VerifyClientCallbackAsync<IncomingMessage> {
  const { allowedOrigins } = services.config;
  return ({ req, origin }, done) => {
    if (services.connections.draining) return done(false, 503, "Server restarting", { ...PLAIN, "Retry-After": "1" });
    // Browsers always send Origin on a WebSocket upgrade; other clients need not, and pass.
    if (allowedOrigins && origin !== undefined && !allowedOrigins.includes(origin)) return done(false, 403, "Origin not allowed", PLAIN);
    services.rateLimits.refusal("webSocketPerAddress", clientAddress(req) ?? "unknown").then(
      (refused) => (refused ? done(false, 429, refused.message, { ...PLAIN, "Retry-After": String(refused.retryAfter) }) : done(true)),
      (err: unknown) => {
        if (!isRedisUnavailable(err)) services.log.error({ err }, "websocket upgrade check failed");
        done(true);
      },
    );
  };
}
