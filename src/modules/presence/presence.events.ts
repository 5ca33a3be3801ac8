import type { PresenceStatus } from "./presence.rules";

/** Topic.PresenceChanged: one presence transition, as lua/announce.lua publishes it (cjson) on PresenceKeys.channels. */
export interface PresenceChangedPayload {
  userId: string;
  status: PresenceStatus;
  previous: PresenceStatus;
  /** Epoch ms (Redis server time) */
  at: number;
  onlineCount: number;
}
