import { channelName } from "../../redis/pubsub";
import { Topic } from "../topics";

/**
 * Redis keys of the settings domain. Both hashes of a user carry the `{userId}` hash tag, so the
 * update script touches them in one cluster slot. Settings have no TTL: they outlive sessions.
 */
export class SettingsKeys {
  constructor(private readonly prefix: string) {}

  /** hash: theme, language, timezone, notifications ("true"/"false"), version, updatedAt (ISO). */
  settings(userId: string): string {
    return `${this.prefix}user:{${userId}}:settings`;
  }

  /** hash: the user's extra entries, key -> value. */
  extra(userId: string): string {
    return `${this.prefix}user:{${userId}}:settings:extra`;
  }

  /**
   * The channel of the user's settingsChanged subscriptions, `<prefix>settingsChanged:{<userId>}`:
   * the update script publishes on it directly, in the settings' slot (a shard channel on a Cluster).
   */
  channel(userId: string): string {
    return channelName(this.prefix, Topic.SettingsChanged, userId);
  }
}
