import { Arg, Ctx, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { badInput } from "../../errors/errors";
import type { AppContext } from "../../server/context";
import { Topic, type PresenceChangedPayload } from "../../server/topics";
import { validateUserId } from "../sessions/identity";
import { OnlineUsers, Presence, PresenceEvent, PresenceStatus } from "./presence.type";

/** Most users one `presence` query or one `presenceChanged` subscription may name. */
const MAX_USER_IDS = 100;
/** Largest page of `onlineUsers`. */
const MAX_PAGE = 500;

/** Validated, de-duplicated user ids (1 to 100), or BAD_USER_INPUT. */
function userIdList(userIds: string[]): string[] {
  const unique = [...new Set(userIds)];
  if (unique.length === 0) throw badInput("userIds must name at least one user", "userIds");
  if (unique.length > MAX_USER_IDS) throw badInput(`userIds may name at most ${MAX_USER_IDS} users`, "userIds");
  unique.forEach((id) => validateUserId(id, "userIds"));
  return unique;
}

@Resolver()
export class PresenceResolver {
  @Query(() => OnlineUsers)
  async onlineUsers(
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<OnlineUsers> {
    // first: 0 is the cheap way to ask only for the count.
    const badFirst = !Number.isInteger(first) || first < 0 || first > MAX_PAGE;
    // The cursor is the last user id of the previous page.
    if (badFirst || after != null) {
      await ctx.requireSession(); // an anonymous caller learns nothing, not even which input is bad
      if (badFirst) throw badInput(`first must be from 0 to ${MAX_PAGE}`, "first");
      validateUserId(after!, "after");
    }
    // The page is public to every signed-in user, so it is read while the session is checked:
    // one round trip instead of two, and nothing is returned unless the session is valid.
    const [, page] = await Promise.all([ctx.requireSession(), ctx.services.presence.online(first, after ?? null)]);
    return OnlineUsers.from(page);
  }

  @Query(() => [Presence], { description: "Presence of up to 100 users." })
  async presence(@Arg("userIds", () => [ID]) userIds: string[], @Ctx() ctx: AppContext): Promise<Presence[]> {
    await ctx.requireSession();
    if (userIds.length === 0) return [];
    if (userIds.length > MAX_USER_IDS) throw badInput(`userIds may name at most ${MAX_USER_IDS} users`, "userIds");
    userIds.forEach((id) => validateUserId(id, "userIds"));
    const records = await ctx.services.presence.read(userIds);
    return records.map(Presence.from);
  }

  @Mutation(() => Presence, { description: "Keeps the caller online without a WebSocket, and optionally sets a status." })
  async heartbeat(
    @Arg("status", () => PresenceStatus, { nullable: true }) status: PresenceStatus | null,
    @Ctx() ctx: AppContext,
  ): Promise<Presence> {
    const session = await ctx.requireSession();
    // OFFLINE is what the service concludes when nothing keeps a user online; it cannot be set.
    if (status === PresenceStatus.OFFLINE) throw badInput("status OFFLINE cannot be set; stop the heartbeats and close the sockets instead", "status");
    return Presence.from(await ctx.services.presence.heartbeat(session.userId, status ?? null));
  }

  @Subscription(() => PresenceEvent, {
    description: "Presence transitions of the given users, or of everyone when userIds is omitted.",
    subscribe: async ({ args, context }) => {
      const ctx = context as AppContext;
      await ctx.requireSession();
      const { pubSub } = ctx.services;
      const userIds = args.userIds as string[] | null | undefined;
      if (userIds == null) return pubSub.subscribe(Topic.PresenceChanged);
      // One Redis channel per user: Redis routes only those users' events here, no filtering in JS.
      return pubSub.subscribeMany(Topic.PresenceChanged, userIdList(userIds));
    },
  })
  presenceChanged(
    @Root() payload: PresenceChangedPayload,
    @Arg("userIds", () => [ID], { nullable: true }) _userIds: string[] | null,
  ): PresenceEvent {
    return PresenceEvent.from(payload);
  }
}
