import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { notFound } from "../../errors/errors";
import type { AppContext } from "../../server/context";
import { validateUserId } from "./identity";
import { AuthPayload, LoginInput, Session } from "./session.type";

/** Longest User-Agent kept with a session. */
const MAX_USER_AGENT = 512;

@Resolver()
export class SessionResolver {
  @Query(() => Session, { nullable: true, description: "The calling session, or null without a valid token." })
  async me(@Ctx() ctx: AppContext): Promise<Session | null> {
    const session = await ctx.session();
    return session && Session.from(session, session.id);
  }

  @Query(() => Session, { nullable: true, description: "One of the caller's own sessions; the current one when id is omitted." })
  async session(@Arg("id", () => ID, { nullable: true }) id: string | null, @Ctx() ctx: AppContext): Promise<Session | null> {
    const current = await ctx.requireSession();
    if (id == null || id === current.id) return Session.from(current, current.id);
    const found = await ctx.services.sessions.get(current.userId, id);
    return found && Session.from(found, current.id);
  }

  @Query(() => [Session], { description: "All live sessions of the caller, most recently used first." })
  async sessions(@Ctx() ctx: AppContext): Promise<Session[]> {
    const current = await ctx.requireSession();
    const list = await ctx.services.sessions.list(current.userId);
    return list.map((s) => Session.from(s, current.id));
  }

  @Query(() => [Session], { description: "Admin (x-api-key): the live sessions of any user." })
  async userSessions(@Arg("userId", () => ID) userId: string, @Ctx() ctx: AppContext): Promise<Session[]> {
    ctx.requireAdmin();
    const list = await ctx.services.sessions.list(validateUserId(userId));
    return list.map((s) => Session.from(s));
  }

  @Mutation(() => AuthPayload)
  async login(@Arg("input", () => LoginInput) input: LoginInput, @Ctx() ctx: AppContext): Promise<AuthPayload> {
    const { rateLimits } = ctx.services;
    // Per address before the proof is checked (checking it is the cost), per user once it is known.
    await rateLimits.consume("loginPerAddress", ctx.caller.ip ?? "unknown");
    const identity = await ctx.services.verifyIdentity(input);
    await rateLimits.consume("loginPerUser", identity.userId);
    const { token, session, evicted } = await ctx.services.sessions.create({
      ...identity,
      userAgent: ctx.caller.userAgent?.slice(0, MAX_USER_AGENT) || null,
      ip: ctx.caller.ip,
    });
    ctx.services.metrics.logins.inc();
    ctx.services.metrics.sessionEnds.evicted.inc(evicted.length);
    // Sessions over SESSION_MAX_PER_USER ended with the login; their sockets close like a revoke's.
    // The login stands if the announcement fails: each instance's periodic check closes them then.
    await ctx.services.sessionWatcher.announce(evicted).catch((err: unknown) => ctx.services.log.warn({ err }, "session end not announced"));
    return { token, session: Session.from(session, session.id) };
  }

  @Mutation(() => Boolean, { description: "Ends the calling session." })
  async logout(@Ctx() ctx: AppContext): Promise<boolean> {
    const current = await ctx.requireSession();
    const ended = await ctx.services.sessions.revoke(current.userId, current.id);
    ctx.services.metrics.sessionEnds.logout.inc(ended.length);
    await ctx.services.sessionWatcher.announce(ended);
    return ended.length > 0;
  }

  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions; its open WebSockets are closed." })
  async revokeSession(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<boolean> {
    const current = await ctx.requireSession();
    const ended = await ctx.services.sessions.revoke(current.userId, id);
    if (ended.length === 0) throw notFound("No such session");
    ctx.services.metrics.sessionEnds.revoked.inc(ended.length);
    await ctx.services.sessionWatcher.announce(ended);
    return true;
  }

  @Mutation(() => Int, { description: "Ends every session of the caller except the current one; returns how many." })
  async revokeOtherSessions(@Ctx() ctx: AppContext): Promise<number> {
    const current = await ctx.requireSession();
    const ended = await ctx.services.sessions.revokeOthers(current.userId, current.id);
    ctx.services.metrics.sessionEnds.revoked_others.inc(ended.length);
    await ctx.services.sessionWatcher.announce(ended);
    return ended.length;
  }

  @Mutation(() => Boolean, { description: "Admin (x-api-key): ends one session of a user; its open WebSockets are closed on every instance." })
  async revokeUserSession(
    @Arg("userId", () => ID) userId: string,
    @Arg("sessionId", () => ID) sessionId: string,
    @Ctx() ctx: AppContext,
  ): Promise<boolean> {
    ctx.requireAdmin();
    const ended = await ctx.services.sessions.revoke(validateUserId(userId), sessionId);
    if (ended.length === 0) throw notFound("No such session");
    ctx.services.metrics.sessionEnds.revoked_admin.inc(ended.length);
    await ctx.services.sessionWatcher.announce(ended);
    return true;
  }

  @Mutation(() => Int, { description: "Admin (x-api-key): ends every session of a user; returns how many." })
  async revokeUserSessions(@Arg("userId", () => ID) userId: string, @Ctx() ctx: AppContext): Promise<number> {
    ctx.requireAdmin();
    const ended = await ctx.services.sessions.revokeAll(validateUserId(userId));
    ctx.services.metrics.sessionEnds.revoked_admin.inc(ended.length);
    await ctx.services.sessionWatcher.announce(ended);
    return ended.length;
  }
}
