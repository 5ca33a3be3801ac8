import { badInput } from "../../errors/errors";
import { validateUserId } from "../sessions/identity";

/**
 * The presence domain's rules: the statuses and which inputs are accepted. Pure (no Redis, no
 * GraphQL types); the transitions themselves are decided by the store's scripts.
 */
export enum PresenceStatus {
  ONLINE = "ONLINE",
  AWAY = "AWAY",
  BUSY = "BUSY",
  OFFLINE = "OFFLINE",
}

/** What a heartbeat can set; the first three statuses are online. */
export type SettableStatus = Exclude<PresenceStatus, PresenceStatus.OFFLINE>;

/** Most users one `presence` query or one `presenceChanged` subscription may name. */
export const MAX_USER_IDS = 100;
/** Largest page of `onlineUsers`. */
export const MAX_ONLINE_PAGE = 500;

/** The users of a `presence` query: at most MAX_USER_IDS valid ids (none gives an empty answer). */
export function validatePresenceUserIds(userIds: string[]): string[] {
  if (userIds.length > MAX_USER_IDS) throw badInput(`userIds may name at most ${MAX_USER_IDS} users`, "userIds");
  userIds.forEach((id) => validateUserId(id, "userIds"));
  return userIds;
}

/** The users a `presenceChanged` subscription watches: 1 to MAX_USER_IDS valid ids, de-duplicated. */
export function validateWatchedUserIds(userIds: string[]): string[] {
  const unique = [...new Set(userIds)];
  if (unique.length === 0) throw badInput("userIds must name at least one user", "userIds");
  if (unique.length > MAX_USER_IDS) throw badInput(`userIds may name at most ${MAX_USER_IDS} users`, "userIds");
  unique.forEach((id) => validateUserId(id, "userIds"));
  return unique;
}

/**
 * An `onlineUsers` page: `first` from 0 (the count alone) to MAX_ONLINE_PAGE, and `after`, the
 * last user id of the previous page, a user id.
 */
export function validateOnlinePage(first: number, after: string | null): void {
  if (!Number.isInteger(first) || first < 0 || first > MAX_ONLINE_PAGE) throw badInput(`first must be from 0 to ${MAX_ONLINE_PAGE}`, "first");
  if (after !== null) validateUserId(after, "after");
}

/**
 * A heartbeat's status: null keeps the current one. OFFLINE is what the service concludes when
 * nothing keeps a user online; it cannot be set.
 */
export function validateHeartbeatStatus(status: PresenceStatus | null): SettableStatus | null {
  if (status === PresenceStatus.OFFLINE) throw badInput("status OFFLINE cannot be set; stop the heartbeats and close the sockets instead", "status");
  return status;
}
