import type { Connection } from "./connection";
import { SessionhubError } from "./errors";
import {
  SettingsChangedDocument,
  SettingsDocument,
  UpdateSettingsDocument,
  type SettingsFieldsFragment,
  type SettingsInput,
} from "./generated/graphql";
import { Listeners } from "./listeners";

export type Settings = SettingsFieldsFragment;
/** The fields to change (absent ones stay); `expectedVersion` is set by `update`. */
export type SettingsPatch = Omit<SettingsInput, "expectedVersion">;

/** How often `update` re-reads and tries again when another device's change wins. */
const MAX_UPDATE_ATTEMPTS = 10;

/**
 * The caller's settings: read on each (re)connect, then kept current by `settingsChanged`.
 * Versions only go up, so a value older than the one held is dropped, whatever order reads and
 * events arrive in.
 */
export class SettingsState {
  private readonly changed = new Listeners<Settings>();
  private value: Settings | null = null;

  constructor(private readonly connection: Connection) {
    connection.addLive({
      document: SettingsChangedDocument,
      kind: "subscription",
      variables: () => ({}),
      next: ({ settingsChanged }) => this.apply(settingsChanged),
    });
    connection.addLive({ document: SettingsDocument, kind: "query", variables: () => ({}), next: ({ settings }) => this.apply(settings) });
  }

  /** The settings as last heard; null until first read. */
  get current(): Settings | null {
    return this.value;
  }

  /** Calls `listener` with the settings after every change, from this device or another. */
  subscribe(listener: (settings: Settings) => void): () => void {
    return this.changed.add(listener);
  }

  /** Reads the settings from the service. */
  async read(): Promise<Settings> {
    const { settings } = await this.connection.request(SettingsDocument, {});
    return this.apply(settings);
  }

  /**
   * Changes the settings with optimistic concurrency: the update names the version it was made
   * from, and when another change won (CONFLICT), the settings are read again and the update is
   * made again. Pass a function to compute the change from the settings it applies to (a toggle,
   * an edited `extra` entry): it is called again with the fresh settings on every retry.
   */
  async update(patch: SettingsPatch | ((current: Settings) => SettingsPatch | Promise<SettingsPatch>)): Promise<Settings> {
    let base = this.value ?? (await this.read());
    for (let attempt = 1; ; attempt++) {
      const changes = typeof patch === "function" ? await patch(base) : patch;
      try {
        const { updateSettings } = await this.connection.request(UpdateSettingsDocument, { input: { ...changes, expectedVersion: base.version } });
        return this.apply(updateSettings);
      } catch (err) {
        if (!(err instanceof SessionhubError) || err.code !== "CONFLICT" || attempt >= MAX_UPDATE_ATTEMPTS) throw err;
        base = await this.read();
      }
    }
  }

  private apply(settings: Settings): Settings {
    if (this.value && settings.version <= this.value.version) return this.value;
    this.value = settings;
    this.changed.emit(settings);
    return settings;
  }
}
