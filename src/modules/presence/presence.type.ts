import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import type { PresenceChangedPayload } from "./presence.events";
import { PresenceStatus } from "./presence.rules";
import type { OnlinePage, PresenceRecord } from "./presence.store";

registerEnumType(PresenceStatus, { name: "PresenceStatus" });

@ObjectType({ simpleResolvers: true })
export class Presence {
  @Field(() => ID)
  userId!: string;

  @Field(() => PresenceStatus)
  status!: PresenceStatus;

  @Field()
  online!: boolean;

  @Field(() => Int, { description: "Live connections (tabs, devices) of this user right now." })
  connections!: number;

  @Field(() => Date, { nullable: true, description: "Last time the user was seen online; null if never." })
  lastSeenAt!: Date | null;

  static from(record: PresenceRecord): Presence {
    return Object.assign(new Presence(), {
      userId: record.userId,
      status: record.status,
      online: record.online,
      connections: record.connections,
      lastSeenAt: record.lastSeenAt === null ? null : new Date(record.lastSeenAt),
    });
  }
}

@ObjectType({ simpleResolvers: true })
export class PresenceEvent {
  @Field(() => ID)
  userId!: string;

  @Field(() => PresenceStatus)
  status!: PresenceStatus;

  @Field(() => PresenceStatus)
  previous!: PresenceStatus;

  @Field()
  at!: Date;

  @Field(() => Int, { description: "Number of online users right after this change." })
  onlineCount!: number;

  @Field({
    description:
      "True when this is no live transition but the user's state read after the service missed events (a gap in its Redis pub/sub connection): `previous` is the last status this subscription reported, `at` when the state was read.",
  })
  catchUp!: boolean;

  static from(payload: PresenceChangedPayload): PresenceEvent {
    return Object.assign(new PresenceEvent(), {
      userId: payload.userId,
      status: payload.status,
      previous: payload.previous,
      at: new Date(payload.at),
      onlineCount: payload.onlineCount,
      catchUp: payload.catchUp === true,
    });
  }
}

@ObjectType({ simpleResolvers: true })
export class OnlineUsers {
  @Field(() => Int, { description: "Exact number of users online now." })
  count!: number;

  @Field(() => [Presence])
  users!: Presence[];

  @Field(() => String, { nullable: true, description: "Pass as `after` to get the next page; null on the last page." })
  nextCursor!: string | null;

  static from(page: OnlinePage): OnlineUsers {
    return Object.assign(new OnlineUsers(), {
      count: page.count,
      users: page.users.map(Presence.from),
      nextCursor: page.nextCursor,
    });
  }
}
