import { badInput } from "../../errors/errors";

/**
 * The settings domain's rules: defaults, limits and validation of an update. Pure (no Redis,
 * no GraphQL types), so it is unit-tested on its own; anything that depends on stored state
 * (expected version, entry count after the update) is decided by the store's script.
 */
export enum Theme {
  LIGHT = "LIGHT",
  DARK = "DARK",
  SYSTEM = "SYSTEM",
}

/** The fixed (named) settings. Stored as strings; `notifications` as "true" / "false". */
export interface FixedSettings {
  theme: Theme;
  language: string;
  timezone: string;
  notifications: boolean;
}

export const DEFAULT_SETTINGS: Readonly<FixedSettings> = Object.freeze({
  theme: Theme.SYSTEM,
  language: "en",
  timezone: "UTC",
  notifications: true,
});

/** Most extra entries a user may have, counted after an update is applied. */
export const MAX_EXTRA_ENTRIES = 50;
/** Largest extra value in UTF-8 bytes. */
export const MAX_EXTRA_VALUE_BYTES = 1024;
/** Longest language tag or time zone name accepted (real ones are far shorter). */
const MAX_NAME_LENGTH = 64;
const EXTRA_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
// A lone UTF-16 surrogate cannot be encoded as UTF-8, so it would not be stored as given.
const LONE_SURROGATE = /\p{Cs}/u;

/** An update as a client sends it (GraphQL input: null and absent both mean "leave as is"). */
export interface SettingsUpdateInput {
  theme?: Theme | null;
  language?: string | null;
  timezone?: string | null;
  notifications?: boolean | null;
  extra?: readonly { key: string; value?: string | null }[] | null;
  expectedVersion?: number | null;
}

/** A validated update: canonical values, upserts and removals of extra entries. */
export interface SettingsChange {
  set: Partial<FixedSettings>;
  /** key -> value to insert or replace, in input order. */
  upsert: [string, string][];
  remove: string[];
  expectedVersion: number | null;
}

/** The canonical form of a BCP 47 language tag (`zh-cn` -> `zh-CN`); BAD_USER_INPUT if it is not one. */
export function canonicalLanguage(tag: string): string {
  if (tag.length === 0 || tag.length > MAX_NAME_LENGTH) throw badInput("language must be a BCP 47 language tag, e.g. zh-CN", "language");
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    throw badInput("language must be a BCP 47 language tag, e.g. zh-CN", "language");
  }
}

/** The canonical name of an IANA time zone (`asia/shanghai` -> `Asia/Shanghai`); BAD_USER_INPUT if unknown. */
export function canonicalTimezone(zone: string): string {
  if (zone.length === 0 || zone.length > MAX_NAME_LENGTH) throw badInput("timezone must be an IANA time zone, e.g. Asia/Shanghai", "timezone");
  try {
    // ICU knows every IANA zone and link (and rejects offsets such as +05:00); it also resolves
    // the spelling, so what is stored is what Intl will accept again.
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw badInput("timezone must be an IANA time zone, e.g. Asia/Shanghai", "timezone");
  }
}

/** Validates an update; throws BAD_USER_INPUT (naming the field) on the first rule it breaks. */
export function validateSettingsUpdate(input: SettingsUpdateInput): SettingsChange {
  const set: Partial<FixedSettings> = {};
  if (input.theme != null) {
    if (!Object.values(Theme).includes(input.theme)) throw badInput("theme must be LIGHT, DARK or SYSTEM", "theme");
    set.theme = input.theme;
  }
  if (input.language != null) set.language = canonicalLanguage(input.language);
  if (input.timezone != null) set.timezone = canonicalTimezone(input.timezone);
  if (input.notifications != null) set.notifications = input.notifications;

  const entries = input.extra ?? [];
  if (entries.length > MAX_EXTRA_ENTRIES) throw badInput(`extra may hold at most ${MAX_EXTRA_ENTRIES} entries`, "extra");
  const seen = new Set<string>();
  const upsert: [string, string][] = [];
  const remove: string[] = [];
  for (const { key, value } of entries) {
    if (!EXTRA_KEY.test(key)) throw badInput("extra keys must be 1-64 characters of A-Z a-z 0-9 _ . -", "extra");
    if (seen.has(key)) throw badInput(`extra names the key '${key}' more than once`, "extra");
    seen.add(key);
    if (value == null) {
      remove.push(key);
      continue;
    }
    if (LONE_SURROGATE.test(value)) throw badInput(`extra value of '${key}' is not valid Unicode`, "extra");
    if (Buffer.byteLength(value, "utf8") > MAX_EXTRA_VALUE_BYTES) {
      throw badInput(`extra value of '${key}' exceeds ${MAX_EXTRA_VALUE_BYTES} bytes`, "extra");
    }
    upsert.push([key, value]);
  }
  if (Object.keys(set).length === 0 && entries.length === 0) {
    throw badInput("Nothing to update: give at least one of theme, language, timezone, notifications or extra");
  }
  return { set, upsert, remove, expectedVersion: input.expectedVersion ?? null };
}
