/**
 * Topic.SettingsChanged: the user's whole settings after a change, as the update script
 * publishes them (cjson) on SettingsKeys.channel; `extra` is an object key -> value (unordered).
 */
export interface SettingsChangedPayload {
  theme: string;
  language: string;
  timezone: string;
  notifications: boolean;
  extra: Record<string, string>;
  version: number;
  /** ISO-8601 */
  updatedAt: string;
}
