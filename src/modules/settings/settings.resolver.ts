import { Arg, Ctx, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { badInput, conflict } from "../../errors/errors";
import type { AppContext } from "../../server/context";
import { Topic } from "../topics";
import type { SettingsChangedPayload } from "./settings.events";
import { MAX_EXTRA_ENTRIES, validateSettingsUpdate } from "./settings.rules";
import { fromPayload, toPayload } from "./settings.store";
import { Settings, SettingsInput } from "./settings.type";

/**
 * The caller's own settings. Changes are published by the store's update script itself (same
 * atomic step as the write), so every socket of the user on any instance gets each version.
 */
@Resolver()
export class SettingsResolver {
  @Query(() => Settings, { description: "The caller's settings, defaults filled in." })
  async settings(@Ctx() ctx: AppContext): Promise<Settings> {
    const { userId } = await ctx.requireSession();
    return Settings.from(await ctx.services.settings.get(userId));
  }

  @Mutation(() => Settings)
  async updateSettings(@Arg("input", () => SettingsInput) input: SettingsInput, @Ctx() ctx: AppContext): Promise<Settings> {
    const { userId } = await ctx.requireSession();
    const change = validateSettingsUpdate(input);
    await ctx.services.rateLimits.consume("updateSettings", userId);
    const result = await ctx.services.settings.update(userId, change);
    if (result.ok) return Settings.from(result.settings);
    if (result.reason === "conflict") {
      throw conflict(`expectedVersion ${change.expectedVersion} is not the stored version ${result.storedVersion}`, {
        version: result.storedVersion,
      });
    }
    throw badInput(`extra would hold ${result.entriesAfter} entries; at most ${MAX_EXTRA_ENTRIES} are allowed`, "extra");
  }

  @Mutation(() => Settings)
  async resetSettings(@Ctx() ctx: AppContext): Promise<Settings> {
    const { userId } = await ctx.requireSession();
    // A reset is a change like any other: it spends the same budget.
    await ctx.services.rateLimits.consume("updateSettings", userId);
    return Settings.from(await ctx.services.settings.reset(userId));
  }

  @Subscription(() => Settings, {
    description:
      "The caller's settings after every change, from any device. After the service missed changes (a gap in its Redis pub/sub connection), the current settings once, if they moved.",
    subscribe: async ({ context }) => {
      const ctx = context as AppContext;
      // Resolve the caller first: an anonymous socket gets UNAUTHENTICATED, never a shared channel.
      const { userId } = await ctx.requireSession();
      const { pubSub, settings } = ctx.services;
      // The version the subscriber is known to have: where a catch-up after a gap starts from.
      let version = (await settings.get(userId)).version;
      return pubSub.subscribeMany(Topic.SettingsChanged, [userId], {
        accept: (payload) => {
          if (payload.version <= version) return false;
          version = payload.version;
          return true;
        },
        read: async () => {
          const current = await settings.get(userId);
          return current.version > version ? [toPayload(current)] : [];
        },
        readOnceLive: true,
      });
    },
  })
  settingsChanged(@Root() payload: SettingsChangedPayload): Settings {
    return Settings.from(fromPayload(payload));
  }
}
