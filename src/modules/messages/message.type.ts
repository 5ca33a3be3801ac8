import { Field, ID, ObjectType } from "type-graphql";
import type { MessageRecord } from "./message.store";

@ObjectType({ simpleResolvers: true })
export class Message {
  @Field(() => ID, { description: "Unique, increasing per recipient; usable as a cursor." })
  id!: string;

  @Field(() => ID)
  from!: string;

  @Field()
  fromUsername!: string;

  @Field(() => ID)
  to!: string;

  @Field()
  body!: string;

  @Field()
  sentAt!: Date;

  @Field(() => String, { nullable: true, description: "The sender's idempotency key, if it gave one." })
  clientMessageId!: string | null;

  static from(record: MessageRecord): Message {
    return Object.assign(new Message(), record, { sentAt: new Date(record.sentAt) });
  }
}

@ObjectType({ simpleResolvers: true })
export class MessagePage {
  @Field(() => [Message])
  items!: Message[];

  @Field(() => ID, { nullable: true })
  nextCursor!: string | null;
}
