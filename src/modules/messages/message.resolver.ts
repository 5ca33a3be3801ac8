import { Arg, Ctx, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { notFound } from "../../errors/errors";
import { receivedIOHandled } from "../../redis/pubsub";
import type { AppContext } from "../../server/context";
import { mayReturn } from "../list-cost";
import { validateUserId } from "../sessions/identity";
import { inboxFeed, UserInbox } from "./message.feed";
import { PUSH_DEFAULT_FROM, validateMessageId, validateMessageInput, validatePageSize, validatePushRecipients } from "./message.rules";
import type { MessageRecord } from "./message.store";
import { Message, MessagePage } from "./message.type";

/** Default `first` of the messages query. */
const DEFAULT_PAGE_SIZE = 50;

/**
 * The caller's own inbox. A message is stored and published by one script in the store, so
 * every socket of the recipient on any instance gets it, and a stored message is never missed by
 * a subscriber that replays from an id.
 */
@Resolver()
export class MessageResolver {
  @Query(() => MessagePage, {
    description: "The caller's inbox, oldest first, after the given message id.",
    complexity: ({ args, childComplexity }) => mayReturn(args.first, DEFAULT_PAGE_SIZE) * childComplexity,
  })
  async messages(
    @Arg("after", () => ID, { nullable: true }) after: string | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE }) first: number | null,
    @Ctx() ctx: AppContext,
  ): Promise<MessagePage> {
    const { userId } = await ctx.requireSession();
    const cursor = after == null ? null : validateMessageId(after, "after");
    const size = validatePageSize(first ?? DEFAULT_PAGE_SIZE);
    // One more than asked tells whether a next page exists.
    const records = await ctx.services.messages.list(userId, cursor, size + 1);
    const items = records.slice(0, size).map(Message.from);
    return { items, nextCursor: records.length > size ? items[size - 1].id : null };
  }

  @Query(() => Int)
  async unreadCount(@Ctx() ctx: AppContext): Promise<number> {
    const { userId } = await ctx.requireSession();
    return ctx.services.messages.unreadCount(userId);
  }

  @Query(() => Int, { description: "Admin (x-api-key): the unread count of any user's inbox." })
  async userUnreadCount(@Arg("userId", () => ID) userId: string, @Ctx() ctx: AppContext): Promise<number> {
    ctx.requireAdmin();
    return ctx.services.messages.unreadCount(validateUserId(userId));
  }

  @Mutation(() => Message)
  async sendMessage(
    @Arg("to", () => ID) to: string,
    @Arg("body") body: string,
    @Arg("clientMessageId", () => String, { nullable: true }) clientMessageId: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<Message> {
    const sender = await ctx.requireSession();
    const input = { to, body, clientMessageId: clientMessageId ?? null, from: sender.userId, fromUsername: sender.username };
    const valid = validateMessageInput(input, ctx.services.config.messageMaxBytes);
    const { rateLimits } = ctx.services;
    // Both budgets in one round trip (a call one refuses still counts in the other); before the send script, so a refusal stores nothing.
    await Promise.all([rateLimits.consume("sendMessage", valid.from), rateLimits.consume("sendMessagePerRecipient", valid.from, valid.to)]);
    const { message, duplicate } = await ctx.services.messages.send(valid);
    if (!duplicate) ctx.services.metrics.messagesStored.inc();
    // The recipient's sockets on this instance get the message before the sender gets the answer.
    await receivedIOHandled();
    return Message.from(message);
  }

  @Mutation(() => [Message], {
    description:
      'Admin (x-api-key): a message from the application itself (`from`, default "system") to each listed user (1 to 1000), stored in each inbox and delivered live exactly like sendMessage. With clientMessageId, a retry delivers nothing twice. Returns the stored messages, in the order of `to`.',
  })
  async pushMessage(
    @Arg("to", () => [ID]) to: string[],
    @Arg("body") body: string,
    @Arg("from", () => ID, { nullable: true }) from: string | null,
    @Arg("clientMessageId", () => String, { nullable: true }) clientMessageId: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<Message[]> {
    ctx.requireAdmin();
    const { config, rateLimits, messages, metrics } = ctx.services;
    const sender = validateUserId(from ?? PUSH_DEFAULT_FROM, "from");
    // Each recipient's message passes sendMessage's own checks (body, clientMessageId, to).
    const inputs = validatePushRecipients(to).map((recipient) =>
      validateMessageInput({ to: recipient, body, clientMessageId: clientMessageId ?? null, from: sender, fromUsername: sender }, config.messageMaxBytes),
    );
    await rateLimits.consume("pushMessage", ctx.adminKeyId());
    // One send script per recipient, each in the recipient's slot, all in one round trip.
    const sent = await Promise.all(inputs.map((input) => messages.send(input)));
    metrics.messagesStored.inc(sent.filter((s) => !s.duplicate).length);
    await receivedIOHandled();
    return sent.map((s) => Message.from(s.message));
  }

  @Mutation(() => Int, { description: "Marks the inbox read up to and including this id; returns the unread count left." })
  async markRead(@Arg("upTo", () => ID) upTo: string, @Ctx() ctx: AppContext): Promise<number> {
    const { userId } = await ctx.requireSession();
    const id = validateMessageId(upTo, "upTo");
    await ctx.services.rateLimits.consume("markRead", userId);
    const unread = await ctx.services.messages.markRead(userId, id);
    if (unread === null) throw notFound("No message with this id in your inbox");
    return unread;
  }

  @Subscription(() => Message, {
    description:
      "Messages to the caller. With `after`, first replays the stored messages after that id, then continues live, with no gap and no duplicate.",
    subscribe: async ({ args, context }) => {
      const ctx = context as AppContext;
      // Resolve the caller first: an anonymous socket gets UNAUTHENTICATED, never a shared channel.
      const { userId } = await ctx.requireSession();
      const after = args.after == null ? null : validateMessageId(String(args.after), "after");
      return inboxFeed(new UserInbox(userId, ctx.services), after);
    },
  })
  messageReceived(
    @Arg("after", () => ID, { nullable: true }) _after: string | null,
    @Root() message: MessageRecord,
    @Ctx() ctx: AppContext,
  ): Message {
    ctx.services.metrics.messagesDelivered.inc();
    return Message.from(message);
  }
}
