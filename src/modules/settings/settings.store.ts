import path from "node:path";
import type { RedisClient } from "../../redis/connections";
import { defineScripts } from "../../redis/lua";
import type { SettingsChangedPayload } from "./settings.events";
import { SettingsKeys } from "./settings.keys";
import { DEFAULT_SETTINGS, MAX_EXTRA_ENTRIES, Theme, type FixedSettings, type SettingsChange } from "./settings.rules";

/** A user's settings as read back: defaults filled in, extra sorted by key. */
export interface SettingsRecord extends FixedSettings {
  extra: { key: string; value: string }[];
  version: number;
  /** ISO-8601; null until the first change. */
  updatedAt: string | null;
}

export type UpdateResult =
  | { ok: true; settings: SettingsRecord }
  | { ok: false; reason: "conflict"; storedVersion: number }
  | { ok: false; reason: "tooManyEntries"; entriesAfter: number };

/** The fixed fields as the script stores them (all strings). */
const asStrings = (fields: Partial<FixedSettings>): Record<string, string> =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));

export class SettingsStore {
  private readonly keys: SettingsKeys;
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new SettingsKeys(prefix);
    this.scripts = defineScripts(redis, path.join(__dirname, "lua"), ["update"] as const);
  }

  /** The user's settings; defaults (version 0, updatedAt null) when never changed. */
  async get(userId: string): Promise<SettingsRecord> {
    // MULTI: both hashes from the same moment, never half of a concurrent update.
    const results = await this.redis.multi().hgetall(this.keys.settings(userId)).hgetall(this.keys.extra(userId)).exec();
    const [[settingsError, stored], [extraError, extra]] = results as [Error | null, Record<string, string>][];
    if (settingsError ?? extraError) throw settingsError ?? extraError;
    return fromPayload({
      theme: stored.theme ?? DEFAULT_SETTINGS.theme,
      language: stored.language ?? DEFAULT_SETTINGS.language,
      timezone: stored.timezone ?? DEFAULT_SETTINGS.timezone,
      notifications: stored.notifications === undefined ? DEFAULT_SETTINGS.notifications : stored.notifications === "true",
      extra,
      version: Number(stored.version ?? 0),
      updatedAt: stored.updatedAt ?? null,
    });
  }

  /** Applies a validated change as one new version and publishes the result to the user's settingsChanged channel. */
  update(userId: string, change: SettingsChange): Promise<UpdateResult> {
    return this.apply(userId, change.expectedVersion, {
      set: asStrings(change.set),
      upsert: change.upsert,
      remove: change.remove,
      clear: false,
    });
  }

  /** Restores the defaults (no extra entries) as a new version, published like any change. */
  async reset(userId: string): Promise<SettingsRecord> {
    const result = await this.apply(userId, null, { set: asStrings(DEFAULT_SETTINGS), upsert: [], remove: [], clear: true });
    if (!result.ok) throw new Error(`reset cannot be refused, got ${result.reason}`);
    return result.settings;
  }

  private async apply(
    userId: string,
    expectedVersion: number | null,
    change: { set: Record<string, string>; upsert: [string, string][]; remove: string[]; clear: boolean },
  ): Promise<UpdateResult> {
    const [status, value] = (await this.scripts.update(
      [this.keys.settings(userId), this.keys.extra(userId)],
      [
        this.keys.channel(userId),
        new Date(this.now()).toISOString(),
        expectedVersion ?? "",
        MAX_EXTRA_ENTRIES,
        JSON.stringify({ defaults: asStrings(DEFAULT_SETTINGS), ...change }),
      ],
    )) as [string, string | number];
    if (status === "CONFLICT") return { ok: false, reason: "conflict", storedVersion: Number(value) };
    if (status === "TOO_MANY") return { ok: false, reason: "tooManyEntries", entriesAfter: Number(value) };
    return { ok: true, settings: fromPayload(JSON.parse(String(value)) as SettingsChangedPayload) };
  }
}

/** A settingsChanged payload (or the stored hashes in its shape, never changed: updatedAt null) as a record. */
export function fromPayload(payload: Omit<SettingsChangedPayload, "updatedAt"> & { updatedAt: string | null }): SettingsRecord {
  return {
    theme: payload.theme as Theme,
    language: payload.language,
    timezone: payload.timezone,
    notifications: payload.notifications,
    extra: Object.entries(payload.extra)
      .map(([key, value]) => ({ key, value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    version: payload.version,
    updatedAt: payload.updatedAt,
  };
}

/** The settings as a change event carries them (every version after 0 has an updatedAt). */
export function toPayload(record: SettingsRecord): SettingsChangedPayload {
  const { theme, language, timezone, notifications, version } = record;
  const extra = Object.fromEntries(record.extra.map(({ key, value }) => [key, value]));
  return { theme, language, timezone, notifications, extra, version, updatedAt: record.updatedAt ?? new Date(0).toISOString() };
}
