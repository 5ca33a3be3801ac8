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

/** Largest page of `onlineUsers`. */
export const MAX_ONLINE_PAGE = 500;

/** Most users one `presence` query or one `presenceChanged` subscription may name: PRESENCE_MAX_USER_IDS. */
const tooManyUsers = (max: number) => badInput(`userIds may name at most ${max} users (PRESENCE_MAX_USER_IDS)`, "userIds");

/** The users of a `presence` query: at most `max` valid ids (none gives an empty answer). */
export function validatePresenceUserIds(userIds: string[], max: number): string[] {
  if (userIds.length > max) throw tooManyUsers(max);
  userIds.forEach((id) => validateUserId(id, "userIds"));
  return userIds;
}

/** The users a `presenceChanged` subscription watches: 1 to `max` valid ids, de-duplicated. */
export function validateWatchedUserIds(userIds: string[], max: number): string[] {
  const unique = [...new Set(userIds)];
  if (unique.length === 0) throw badInput("userIds must name at least one user", "userIds");
  if (unique.length > max) throw tooManyUsers(max);
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
