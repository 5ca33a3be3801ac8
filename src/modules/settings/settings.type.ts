import { Field, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { MAX_EXTRA_ENTRIES, Theme } from "./settings.rules";
import type { SettingsRecord } from "./settings.store";

registerEnumType(Theme, { name: "Theme" });

@ObjectType({ simpleResolvers: true })
export class SettingEntry {
  @Field()
  key!: string;

  @Field()
  value!: string;
}

@ObjectType({ simpleResolvers: true })
export class Settings {
  @Field(() => Theme)
  theme!: Theme;

  @Field({ description: "BCP 47 language tag, e.g. zh-CN." })
  language!: string;

  @Field({ description: "IANA time zone, e.g. Asia/Shanghai." })
  timezone!: string;

  @Field()
  notifications!: boolean;

  @Field(() => [SettingEntry], { complexity: ({ childComplexity }) => MAX_EXTRA_ENTRIES * childComplexity })
  extra!: SettingEntry[];

  @Field(() => Int, { description: "Increases by one on every change." })
  version!: number;

  @Field(() => Date, { nullable: true })
  updatedAt!: Date | null;

  static from(record: SettingsRecord): Settings {
    return Object.assign(new Settings(), {
      theme: record.theme,
      language: record.language,
      timezone: record.timezone,
      notifications: record.notifications,
      extra: record.extra.map((e) => Object.assign(new SettingEntry(), e)),
      version: record.version,
      updatedAt: record.updatedAt === null ? null : new Date(record.updatedAt),
    });
  }
}

@InputType()
export class SettingEntryInput {
  @Field()
  key!: string;

  @Field(() => String, { nullable: true, description: "null removes the entry." })
  value?: string | null;
}

@InputType()
export class SettingsInput {
  @Field(() => Theme, { nullable: true })
  theme?: Theme | null;

  @Field(() => String, { nullable: true })
  language?: string | null;

  @Field(() => String, { nullable: true })
  timezone?: string | null;

  @Field(() => Boolean, { nullable: true })
  notifications?: boolean | null;

  @Field(() => [SettingEntryInput], { nullable: true })
  extra?: SettingEntryInput[] | null;

  @Field(() => Int, { nullable: true, description: "If given and not equal to the stored version, the update fails with CONFLICT." })
  expectedVersion?: number | null;
}
