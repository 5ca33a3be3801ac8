import { GraphQLError } from "graphql";
import {
  canonicalLanguage,
  canonicalTimezone,
  MAX_EXTRA_ENTRIES,
  Theme,
  validateSettingsUpdate,
} from "../../src/modules/settings/settings.rules";

const badInputField = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).extensions.code).toBe("BAD_USER_INPUT");
    return (err as GraphQLError).extensions.field;
  }
  throw new Error("expected BAD_USER_INPUT");
};

describe("settings rules", () => {
  it.each([
    ["zh-cn", "zh-CN"],
    ["EN-us", "en-US"],
    ["zh-hans-cn", "zh-Hans-CN"],
    ["en", "en"],
  ])("language %s is stored as %s", (tag, canonical) => {
    expect(canonicalLanguage(tag)).toBe(canonical);
  });

  it.each(["", "en_US", "x-private", "root", "a".repeat(9), `en-${"x".repeat(62)}`])("language %j is refused", (tag) => {
    expect(badInputField(() => canonicalLanguage(tag))).toBe("language");
  });

  it.each([
    ["UTC", "UTC"],
    ["utc", "UTC"],
    ["asia/shanghai", "Asia/Shanghai"],
    ["Europe/Berlin", "Europe/Berlin"],
    ["Etc/GMT+5", "Etc/GMT+5"],
  ])("timezone %s is stored as %s", (zone, canonical) => {
    expect(canonicalTimezone(zone)).toBe(canonical);
  });

  it.each(["", " UTC", "+05:00", "Mars/Olympus_Mons", "Europe/".padEnd(65, "x")])("timezone %j is refused", (zone) => {
    expect(badInputField(() => canonicalTimezone(zone))).toBe("timezone");
  });

  it("a valid update becomes canonical values, upserts and removals; nulls leave fields alone", () => {
    expect(
      validateSettingsUpdate({
        theme: Theme.DARK,
        language: "pt-br",
        timezone: null,
        notifications: false,
        extra: [{ key: "a", value: "1" }, { key: "b", value: null }, { key: "c", value: "" }],
        expectedVersion: 4,
      }),
    ).toEqual({
      set: { theme: Theme.DARK, language: "pt-BR", notifications: false },
      upsert: [["a", "1"], ["c", ""]],
      remove: ["b"],
      expectedVersion: 4,
    });
    expect(validateSettingsUpdate({ extra: [{ key: "gone", value: null }] })).toEqual({
      set: {},
      upsert: [],
      remove: ["gone"],
      expectedVersion: null,
    });
  });

  it.each([
    ["no change at all", {}],
    ["an empty extra list and nothing else", { extra: [] }],
    ["an unknown theme", { theme: "PURPLE" as Theme }],
    ["a key with a slash", { extra: [{ key: "a/b", value: "v" }] }],
    ["a duplicate key", { extra: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }],
    ["a value over 1024 bytes", { extra: [{ key: "a", value: "😀".repeat(257) }] }],
    ["too many entries", { extra: Array.from({ length: MAX_EXTRA_ENTRIES + 1 }, (_, i) => ({ key: `k${i}`, value: "v" })) }],
  ])("an update with %s is refused", (_name, input) => {
    badInputField(() => validateSettingsUpdate(input));
  });

  it("a value of exactly 1024 UTF-8 bytes is accepted", () => {
    expect(validateSettingsUpdate({ extra: [{ key: "a", value: "😀".repeat(256) }] }).upsert).toHaveLength(1);
  });
});
