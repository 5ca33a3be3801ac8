import { Arg, Ctx, Extensions, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { AppError, ErrorCode } from "../../errors/errors";
import type { AppContext } from "../../server/context";
import { mayReturn } from "../list-cost";
import { validateUserId } from "../sessions/identity";
import { Topic } from "../topics";
import type { PresenceChangedPayload } from "./presence.events";
import {
  PresenceStatus,
  validateHeartbeatStatus,
  validateOnlinePage,
  validatePresenceUserIds,
  validateWatchedUserIds,
} from "./presence.rules";
import { OnlineUsers, Presence, PresenceEvent } from "./presence.type";

/** What a subscription to everyone's presence gets after a gap: no event, an error in its stream. */
const missedEvents = (): PresenceChangedPayload =>
  ({ userId: "", status: PresenceStatus.OFFLINE, previous: PresenceStatus.OFFLINE, at: Date.now(), onlineCount: 0, missed: true });

const presenceEventsMissed = () =>
  new AppError(
    ErrorCode.SERVICE_UNAVAILABLE,
    "Presence events were missed while this instance was cut off from Redis pub/sub; read onlineUsers again (live events go on)",
  );

/** Default `first` of onlineUsers. */
const DEFAULT_ONLINE_PAGE = 50;

@Resolver()
export class PresenceResolver {
  @Query(() => OnlineUsers, { complexity: ({ args, childComplexity }) => mayReturn(args.first, DEFAULT_ONLINE_PAGE) * childComplexity })
  async onlineUsers(
    @Arg("first", () => Int, { nullable: true, defaultValue: DEFAULT_ONLINE_PAGE }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<OnlineUsers> {
    try {
      validateOnlinePage(first, after ?? null);
    } catch (err) {
      await ctx.requireSession(); // an anonymous caller learns nothing, not even which input is bad
      throw err;
    }
    // The page is public to every signed-in user, so it is read while the session is checked:
    // one round trip instead of two, and nothing is returned unless the session is valid.
    const [, page] = await Promise.all([ctx.requireSession(), ctx.services.presence.online(first, after ?? null)]);
    return OnlineUsers.from(page);
  }

  @Query(() => [Presence], {
    description: "Presence of up to 100 users.",
    complexity: ({ args, childComplexity }) => mayReturn(Array.isArray(args.userIds) ? args.userIds.length : 0, 0) * childComplexity,
  })
  async presence(@Arg("userIds", () => [ID]) userIds: string[], @Ctx() ctx: AppContext): Promise<Presence[]> {
    await ctx.requireSession();
    const records = await ctx.services.presence.read(validatePresenceUserIds(userIds, ctx.services.config.presenceMaxUserIds));
    return records.map(Presence.from);
  }

  @Query(() => Presence, { description: "Admin (x-api-key): the presence of any user." })
  async userPresence(@Arg("userId", () => ID) userId: string, @Ctx() ctx: AppContext): Promise<Presence> {
    ctx.requireAdmin();
    const [record] = await ctx.services.presence.read([validateUserId(userId)]);
    return Presence.from(record);
  }

  @Mutation(() => Presence, { description: "Keeps the caller online without a WebSocket, and optionally sets a status." })
  async heartbeat(
    @Arg("status", () => PresenceStatus, { nullable: true }) status: PresenceStatus | null,
    @Ctx() ctx: AppContext,
  ): Promise<Presence> {
    const session = await ctx.requireSession();
    const settable = validateHeartbeatStatus(status ?? null);
    await ctx.services.rateLimits.consume("heartbeat", session.userId);
    const { presence, transition } = await ctx.services.presence.heartbeat(session.userId, settable);
    if (transition) ctx.services.metrics.presenceTransitions[transition].inc();
    return Presence.from(presence);
  }

  @Subscription(() => PresenceEvent, {
    description:
      "Presence transitions of the given users, or of everyone when userIds is omitted. After the service missed events (a gap in its Redis pub/sub connection), and once when it is live in Redis, a subscription with userIds gets the current state of each user whose status differs from the last one it reported (`catchUp: true`); one to everyone gets a SERVICE_UNAVAILABLE error in its stream (the subscription goes on): read onlineUsers again.",
    subscribe: async ({ args, context }) => {
      const ctx = context as AppContext;
      await ctx.requireSession();
      const { pubSub, config, presence } = ctx.services;
      const userIds = args.userIds as string[] | null | undefined;
      const { shards } = presence;
      if (userIds == null) {
        const everyone = shards.all.map((k) => k.everyoneId);
        return pubSub.subscribeMany(Topic.PresenceChanged, everyone, { accept: () => true, read: async () => [missedEvents()] });
      }
      const watched = validateWatchedUserIds(userIds, config.presenceMaxUserIds);
      ctx.watchUsers(watched.length);
      // What the subscriber knows of each user: their state now, then each event reported.
      const known = new Map((await presence.read(watched)).map((r) => [r.userId, r.status]));
      // One Redis channel per user: Redis routes only those users' events here, no filtering in JS.
      return pubSub.subscribeMany(Topic.PresenceChanged, watched.map((userId) => shards.of(userId).userId(userId)), {
        // An event (live, or read after a gap or once live) that tells what the subscriber knows is dropped.
        accept: (event) => {
          if (known.get(event.userId) === event.status) return false;
          known.set(event.userId, event.status);
          return true;
        },
        read: async () => {
          const [states, { count }] = await Promise.all([presence.read(watched), presence.online(0, null)]);
          return states
            .filter((state) => state.status !== known.get(state.userId))
            .map((state) => ({ userId: state.userId, status: state.status, previous: known.get(state.userId)!, at: Date.now(), onlineCount: count, catchUp: true }));
        },
        readOnceLive: true,
      });
    },
  })
  // The result depends on the event, the operation and this instance's counts only, never on the
  // subscriber: subscribers with the same operation share one execution per event (server/shared-subscribe.ts).
  @Extensions({ sharedResult: true })
  presenceChanged(
    @Root() payload: PresenceChangedPayload,
    @Arg("userIds", () => [ID], { nullable: true }) _userIds: string[] | null,
    @Ctx() ctx: AppContext,
  ): PresenceEvent {
    if (payload.missed) throw presenceEventsMissed();
    // A script publishes its shard's count; a catch-up event already has the whole deployment's.
    return PresenceEvent.from(payload.catchUp ? payload : { ...payload, onlineCount: ctx.services.onlineCounts.countAfter(payload) });
  }
}
