import { ConfigError, loadConfig } from "../../src/config/config";

describe("quantity limit and browser settings", () => {
  it("defaults are those documented", () => {
    expect(loadConfig({})).toMatchObject({
      sessionMaxPerUser: 100,
      presenceMaxUserIds: 100,
      socketMaxPerUser: 100,
      socketMaxSubscriptions: 100,
      socketMaxWatchedUsers: 1000,
      allowedOrigins: undefined,
      graphiql: undefined,
    });
  });

  it.each(["SESSION_MAX_PER_USER", "PRESENCE_MAX_USER_IDS", "SOCKET_MAX_PER_USER", "SOCKET_MAX_SUBSCRIPTIONS", "SOCKET_MAX_WATCHED_USERS"])(
    "%s must be a positive integer",
    (name) => {
      for (const raw of ["0", "-1", "many"]) expect(() => loadConfig({ [name]: raw })).toThrow(new RegExp(`^${name}: expected an integer`));
    },
  );

  it("ALLOWED_ORIGINS takes origins as browsers send them (scheme, host and port)", () => {
    expect(loadConfig({ ALLOWED_ORIGINS: "https://App.Example, http://localhost:3000,https://a.example:443/" }).allowedOrigins).toEqual([
      "https://app.example",
      "http://localhost:3000",
      "https://a.example",
    ]);
  });

  it.each(["*", "app.example", "https://app.example/path", "https://app.example?x=1", "https://u@app.example", "file:///tmp/x", "https://a.example,"])(
    "ALLOWED_ORIGINS=%j is refused",
    (raw) => {
      expect(() => loadConfig({ ALLOWED_ORIGINS: raw })).toThrow(ConfigError);
      expect(() => loadConfig({ ALLOWED_ORIGINS: raw })).toThrow(/^ALLOWED_ORIGINS: expected comma-separated origins/);
    },
  );

  it("GRAPHIQL is true, false or unset; anything else is refused", () => {
    expect(loadConfig({ GRAPHIQL: "true" }).graphiql).toBe(true);
    expect(loadConfig({ GRAPHIQL: "false" }).graphiql).toBe(false);
    expect(() => loadConfig({ GRAPHIQL: "yes" })).toThrow(/^GRAPHIQL: expected one of true, false/);
  });
});
