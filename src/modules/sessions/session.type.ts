import { Field, ID, InputType, ObjectType } from "type-graphql";
import type { SessionRecord } from "./session.store";

@ObjectType({ description: "One login of one user on one device.", simpleResolvers: true })
export class Session {
  @Field(() => ID, { description: "Public id of the session. Never the bearer token." })
  id!: string;

  @Field(() => ID)
  userId!: string;

  @Field()
  username!: string;

  @Field()
  createdAt!: Date;

  @Field({ description: "Last authenticated use of the session." })
  lastSeenAt!: Date;

  @Field({ description: "When the session ends unless it is used again (idle timeout), capped by the absolute lifetime." })
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field({ description: "True for the session that made this request." })
  current!: boolean;

  static from(record: SessionRecord, currentSessionId?: string): Session {
    return Object.assign(new Session(), {
      id: record.id,
      userId: record.userId,
      username: record.username,
      createdAt: new Date(record.createdAt),
      lastSeenAt: new Date(record.lastSeenAt),
      expiresAt: new Date(record.expiresAt),
      userAgent: record.userAgent,
      ip: record.ip,
      current: record.id === currentSessionId,
    });
  }
}

@ObjectType({ simpleResolvers: true })
export class AuthPayload {
  @Field({ description: "Bearer token for this session. Returned once; the server stores only a hash of it." })
  token!: string;

  @Field(() => Session)
  session!: Session;
}

@InputType()
export class LoginInput {
  @Field(() => ID, { nullable: true, description: "Development auth mode: the user to log in as. Ignored in jwt mode." })
  userId?: string | null;

  @Field(() => String, { nullable: true, description: "Development auth mode: display name. Ignored in jwt mode." })
  username?: string | null;

  @Field(() => String, { nullable: true, description: "jwt auth mode: a signed identity token (sub = user id, name = username)." })
  idToken?: string | null;
}
