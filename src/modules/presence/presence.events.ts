import type { PresenceStatus } from "./presence.rules";

/** Topic.PresenceChanged: one presence transition, as lua/announce.lua publishes it (cjson) on PresenceKeys.channels. */
export interface PresenceChangedPayload {
  userId: string;
  status: PresenceStatus;
  previous: PresenceStatus;
  /** Epoch ms (Redis server time) */
  at: number;
  onlineCount: number;
  /** Never published: set on the state a subscription reads after a gap in the pub/sub connection. */
  catchUp?: boolean;
  /** Never published: tells a subscription to everyone that events were missed in a gap. */
  missed?: boolean;
}
