import { SettingsKeys } from "../../src/modules/settings/settings.keys";
import { collect, errorCode, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { subscribeAndWait } from "../helpers/pubsub";
import { useService } from "../helpers/suite";

const FIELDS = "theme language timezone notifications extra { key value } version updatedAt";

interface SettingsView {
  theme: string;
  language: string;
  timezone: string;
  notifications: boolean;
  extra: { key: string; value: string }[];
  version: number;
  updatedAt: string | null;
}

const DEFAULTS = { theme: "SYSTEM", language: "en", timezone: "UTC", notifications: true, extra: [], version: 0, updatedAt: null };

describe("settings", () => {
  const { apps: [a, b], client, prefix } = useService({ instances: 2 });
  const keys = new SettingsKeys(prefix);
  const sockets: TestSocket[] = [];

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  const read = async (url: string, token: string) => {
    const res = await gql<{ settings: SettingsView }>(url, `{ settings { ${FIELDS} } }`, {}, { token });
    expect(res.errors).toBeUndefined();
    return res.data!.settings;
  };
  const update = (url: string, token: string, input: Record<string, unknown>) =>
    gql<{ updateSettings: SettingsView }>(url, `mutation ($input: SettingsInput!) { updateSettings(input: $input) { ${FIELDS} } }`, { input }, { token });
  const updateOk = async (url: string, token: string, input: Record<string, unknown>) => {
    const res = await update(url, token, input);
    expect(res.errors).toBeUndefined();
    return res.data!.updateSettings;
  };
  /** Everything Redis holds for a user's settings, to prove a refused update wrote nothing. */
  const stored = async (userId: string) => ({
    settings: await client.hgetall(keys.settings(userId)),
    extra: await client.hgetall(keys.extra(userId)),
  });
  /** Opens a socket subscribed to settingsChanged and waits until its Redis subscription is live. */
  const subscribe = (url: string, token: string, userId: string) =>
    subscribeAndWait(client, keys.channel(userId), async () => {
      const socket = openSocket(url, token);
      sockets.push(socket);
      await socket.connected;
      return collect<{ settingsChanged: SettingsView }>(socket.client, `subscription { settingsChanged { ${FIELDS} } }`);
    });

  it("a new user reads the defaults; nothing is written until the first change", async () => {
    const { token } = await login(a.url, "fresh");
    expect(await read(a.url, token)).toEqual(DEFAULTS);
    expect(await stored("fresh")).toEqual({ settings: {}, extra: {} });
  });

  it("settings, updateSettings, resetSettings and settingsChanged need a valid session", async () => {
    expect(errorCode(await gql(a.url, "{ settings { version } }"))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(a.url, "{ settings { version } }", {}, { token: "no-such-token" }))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(a.url, 'mutation { updateSettings(input: { theme: DARK }) { version } }'))).toBe("UNAUTHENTICATED");
    expect(errorCode(await gql(a.url, "mutation { resetSettings { version } }"))).toBe("UNAUTHENTICATED");

    const socket = openSocket(a.url);
    sockets.push(socket);
    await socket.connected;
    const events = collect(socket.client, "subscription { settingsChanged { version } }");
    await waitFor(() => events.results.length > 0 || events.done);
    const codes = [...events.results.flatMap((r) => r.errors ?? []), ...((events.error as { extensions?: unknown }[] | undefined) ?? [])];
    expect(codes.map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  });

  it("an update changes only the fields given, raises the version by one and sets updatedAt", async () => {
    const { token } = await login(a.url, "partial");
    const started = Date.now();
    const first = await updateOk(a.url, token, { theme: "DARK" });
    expect(first).toEqual({ ...DEFAULTS, theme: "DARK", version: 1, updatedAt: expect.any(String) });
    expect(Date.parse(first.updatedAt!)).toBeGreaterThanOrEqual(started);
    expect(Date.parse(first.updatedAt!)).toBeLessThanOrEqual(Date.now());

    const second = await updateOk(b.url, token, { notifications: false, timezone: "Europe/Berlin" });
    expect(second).toMatchObject({ theme: "DARK", language: "en", timezone: "Europe/Berlin", notifications: false, version: 2 });
    expect(Date.parse(second.updatedAt!)).toBeGreaterThanOrEqual(Date.parse(first.updatedAt!));

    // Explicit nulls mean "leave as is", like absent fields.
    const third = await updateOk(a.url, token, { language: "de", theme: null, notifications: null });
    expect(third).toMatchObject({ theme: "DARK", language: "de", timezone: "Europe/Berlin", notifications: false, version: 3 });
    expect(await read(b.url, token)).toEqual(third);
    expect((await stored("partial")).settings).toMatchObject({ theme: "DARK", language: "de", notifications: "false", version: "3" });
  });

  it("language and timezone are stored in their canonical spelling", async () => {
    const { token } = await login(a.url, "canon");
    expect(await updateOk(a.url, token, { language: "zh-cn", timezone: "asia/shanghai" })).toMatchObject({
      language: "zh-CN",
      timezone: "Asia/Shanghai",
    });
    expect(await updateOk(a.url, token, { language: "EN-latn-us", timezone: "utc" })).toMatchObject({ language: "en-Latn-US", timezone: "UTC" });
    expect((await stored("canon")).settings).toMatchObject({ language: "en-Latn-US", timezone: "UTC" });
  });

  it.each([
    ["an empty language", { language: "" }],
    ["a language with an underscore", { language: "en_US" }],
    ["a language that is not a tag", { language: "english please" }],
    ["a language of 65 characters", { language: `en-${"x".repeat(62)}` }],
    ["an empty timezone", { timezone: "" }],
    ["an unknown timezone", { timezone: "Mars/Olympus_Mons" }],
    ["a UTC offset instead of a zone", { timezone: "+05:00" }],
    ["an empty extra key", { extra: [{ key: "", value: "v" }] }],
    ["an extra key of 65 characters", { extra: [{ key: "k".repeat(65), value: "v" }] }],
    ["an extra key with a space", { extra: [{ key: "a b", value: "v" }] }],
    ["an extra key with a non-ASCII letter", { extra: [{ key: "clé", value: "v" }] }],
    ["an extra value of 1025 bytes", { extra: [{ key: "big", value: "v".repeat(1025) }] }],
    ["an extra value of 513 two-byte characters (1026 bytes)", { extra: [{ key: "big", value: "é".repeat(513) }] }],
    ["an extra value with a lone surrogate", { extra: [{ key: "bad", value: "a\ud800b" }] }],
    ["the same extra key twice", { extra: [{ key: "dup", value: "1" }, { key: "dup", value: null }] }],
    ["51 extra entries in one update", { extra: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" })) }],
    ["a valid theme with an invalid timezone", { theme: "LIGHT", timezone: "Nowhere/Land" }],
    ["nothing to change", {}],
    ["only an expected version", { expectedVersion: 1 }],
    ["an unknown theme", { theme: "PURPLE" }],
  ])("an update with %s is BAD_USER_INPUT and changes nothing", async (_name, input) => {
    const { token } = await login(a.url, "validator");
    const before = await stored("validator");
    const res = await update(a.url, token, input);
    expect(errorCode(res)).toBe("BAD_USER_INPUT");
    expect(res.data?.updateSettings ?? null).toBeNull();
    expect(await stored("validator")).toEqual(before);
  });

  it("the limits themselves are accepted: a 64-character key and a 1024-byte value", async () => {
    const { token } = await login(a.url, "limits");
    const key = `A-z_0.9${"k".repeat(57)}`;
    const value = "€".repeat(341) + "x"; // 341 * 3 + 1 = 1024 bytes
    const settings = await updateOk(a.url, token, { extra: [{ key, value }, { key: "empty", value: "" }] });
    expect(settings.extra).toEqual([{ key, value }, { key: "empty", value: "" }]);
  });

  it("expectedVersion other than the stored version is CONFLICT and changes nothing", async () => {
    const { token } = await login(a.url, "versioned");
    expect(errorCode(await update(a.url, token, { theme: "DARK", expectedVersion: 1 }))).toBe("CONFLICT");
    expect(await stored("versioned")).toEqual({ settings: {}, extra: {} });

    await updateOk(a.url, token, { theme: "DARK", expectedVersion: 0 });
    const before = await stored("versioned");
    const stale = await update(b.url, token, { theme: "LIGHT", extra: [{ key: "k", value: "v" }], expectedVersion: 0 });
    expect(errorCode(stale)).toBe("CONFLICT");
    expect(stale.errors?.[0].extensions).toMatchObject({ version: 1 });
    expect(await stored("versioned")).toEqual(before);
    expect(await updateOk(b.url, token, { theme: "LIGHT", expectedVersion: 1 })).toMatchObject({ theme: "LIGHT", version: 2 });
  });

  it("of concurrent updates expecting the same version, exactly one succeeds", async () => {
    const { token } = await login(a.url, "racer");
    await updateOk(a.url, token, { theme: "DARK" });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => update(i % 2 ? a.url : b.url, token, { extra: [{ key: `k${i}`, value: "v" }], expectedVersion: 1 })),
    );
    expect(results.filter((r) => !r.errors).length).toBe(1);
    expect(results.filter((r) => errorCode(r) === "CONFLICT").length).toBe(7);
    const settings = await read(a.url, token);
    expect(settings.version).toBe(2);
    expect(settings.extra).toHaveLength(1);
  });

  it("each update raises the version by exactly one, even when updates race", async () => {
    const { token } = await login(a.url, "counter");
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => updateOk(i % 2 ? a.url : b.url, token, { extra: [{ key: `k${i}`, value: "v" }] })));
    expect(results.map((r) => r.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await read(a.url, token)).extra).toHaveLength(10);
  });

  it("extra upserts entries, null removes one, and the list comes back sorted by key", async () => {
    const { token } = await login(a.url, "extras");
    const first = await updateOk(a.url, token, { extra: [{ key: "zeta", value: "1" }, { key: "alpha", value: "2" }, { key: "mid", value: "3" }] });
    expect(first.extra).toEqual([{ key: "alpha", value: "2" }, { key: "mid", value: "3" }, { key: "zeta", value: "1" }]);

    const second = await updateOk(b.url, token, {
      extra: [{ key: "zeta", value: "one" }, { key: "mid", value: null }, { key: "never-set", value: null }],
    });
    expect(second.extra).toEqual([{ key: "alpha", value: "2" }, { key: "zeta", value: "one" }]);
    expect(second).toMatchObject({ theme: "SYSTEM", version: 2 });
    expect((await stored("extras")).extra).toEqual({ alpha: "2", zeta: "one" });
  });

  it("at most 50 extra entries, counted after the update is applied", async () => {
    const { token } = await login(a.url, "capped");
    const fifty = Array.from({ length: 50 }, (_, i) => ({ key: `k${String(i).padStart(2, "0")}`, value: "v" }));
    expect((await updateOk(a.url, token, { extra: fifty })).extra).toHaveLength(50);

    const before = await stored("capped");
    const over = await update(a.url, token, { theme: "DARK", extra: [{ key: "one-more", value: "v" }] });
    expect(errorCode(over)).toBe("BAD_USER_INPUT");
    expect(await stored("capped")).toEqual(before);

    // Removing one in the same update makes room: 50 - 1 + 1.
    const swapped = await updateOk(a.url, token, { extra: [{ key: "one-more", value: "v" }, { key: "k00", value: null }] });
    expect(swapped.extra).toHaveLength(50);
    expect(swapped.extra.map((e) => e.key)).toContain("one-more");
    // Replacing existing values and other fields never counts against the cap.
    const replaced = await updateOk(b.url, token, { language: "fr", extra: [{ key: "k01", value: "new" }] });
    expect(replaced.extra).toHaveLength(50);
    expect(replaced.version).toBe(3);
  });

  it("resetSettings restores the defaults as a new version and drops every extra entry", async () => {
    const { token } = await login(a.url, "resetter");
    await updateOk(a.url, token, { theme: "LIGHT", language: "ja", timezone: "Asia/Tokyo", notifications: false, extra: [{ key: "k", value: "v" }] });
    const res = await gql<{ resetSettings: SettingsView }>(b.url, `mutation { resetSettings { ${FIELDS} } }`, {}, { token });
    expect(res.errors).toBeUndefined();
    expect(res.data!.resetSettings).toMatchObject({ ...DEFAULTS, version: 2, updatedAt: expect.any(String) });
    expect(await read(a.url, token)).toEqual(res.data!.resetSettings);
    expect(await client.exists(keys.extra("resetter"))).toBe(0);
    // The version keeps counting after a reset, so expectedVersion stays meaningful.
    expect(await updateOk(a.url, token, { theme: "DARK", expectedVersion: 2 })).toMatchObject({ theme: "DARK", version: 3 });
  });

  it("every change reaches the user's socket on the other instance, in order, as returned to the writer", async () => {
    const laptop = await login(a.url, "synced");
    const phone = await login(b.url, "synced");
    const events = await subscribe(b.url, phone.token, "synced");

    const updated = await updateOk(a.url, laptop.token, { theme: "DARK", extra: [{ key: "b", value: "2" }, { key: "a", value: "1" }] });
    const reset = (await gql<{ resetSettings: SettingsView }>(a.url, `mutation { resetSettings { ${FIELDS} } }`, {}, { token: laptop.token }))
      .data!.resetSettings;
    await events.next(2);
    expect(events.results.map((r) => r.data?.settingsChanged)).toEqual([updated, reset]);
    expect(events.results.map((r) => r.data?.settingsChanged.version)).toEqual([1, 2]);

    // A refused update announces nothing: the next event is the next successful change.
    expect(errorCode(await update(a.url, laptop.token, { theme: "LIGHT", expectedVersion: 0 }))).toBe("CONFLICT");
    const third = await updateOk(a.url, laptop.token, { notifications: false });
    await events.next(3);
    expect(events.results.map((r) => r.data?.settingsChanged.version)).toEqual([1, 2, 3]);
    expect(events.results[2].data?.settingsChanged).toEqual(third);
  });

  it("one user never sees or changes another user's settings", async () => {
    const alice = await login(a.url, "alice");
    const bob = await login(a.url, "bob");
    const bobEvents = await subscribe(b.url, bob.token, "bob");

    await updateOk(a.url, alice.token, { theme: "DARK", extra: [{ key: "secret", value: "alice-only" }] });
    expect(await read(a.url, bob.token)).toEqual(DEFAULTS);
    expect(await stored("bob")).toEqual({ settings: {}, extra: {} });

    const bobs = await updateOk(a.url, bob.token, { language: "pt-br" });
    expect(bobs).toMatchObject({ theme: "SYSTEM", language: "pt-BR", extra: [], version: 1 });
    expect(await read(a.url, alice.token)).toMatchObject({ theme: "DARK", language: "en", version: 1 });
    // Bob's socket gets his own change first and alone: Alice's earlier change never reached it
    // (one Redis connection delivers in publish order).
    await bobEvents.next(1);
    expect(bobEvents.results.map((r) => r.data?.settingsChanged)).toEqual([bobs]);
    expect(JSON.stringify(bobEvents.results)).not.toContain("alice-only");
  });

  it("logging out leaves the settings intact for the user's next session", async () => {
    const first = await login(a.url, "leaver");
    const saved = await updateOk(a.url, first.token, { theme: "LIGHT", extra: [{ key: "k", value: "v" }] });
    expect((await gql(a.url, "mutation { logout }", {}, { token: first.token })).data).toEqual({ logout: true });
    const again = await login(b.url, "leaver");
    expect(await read(b.url, again.token)).toEqual(saved);
    expect(await client.hget(keys.settings("leaver"), "version")).toBe("1");
  });

  it("a user's settings keys share the {userId} hash tag and never expire", async () => {
    const { token } = await login(a.url, "tagged");
    await updateOk(a.url, token, { extra: [{ key: "k", value: "v" }] });
    const stored = (await client.keys(`${keys.settings("tagged")}*`)).sort();
    expect(stored).toEqual([keys.settings("tagged"), keys.extra("tagged")]);
    for (const key of stored) {
      expect(key).toContain("{tagged}");
      expect(await client.pttl(key)).toBe(-1);
    }
  });
});
