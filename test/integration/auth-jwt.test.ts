import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import type { App } from "../../src/app";
import { loadConfig } from "../../src/config/config";
import { errorCode, gql } from "../helpers/client";
import { useService } from "../helpers/suite";

const LOGIN = "mutation ($input: LoginInput!) { login(input: $input) { token session { userId username } } }";
const SECRET = "jwt-test-secret-0123456789abcdef-0123";

type Alg = "HS256" | "RS256" | "ES256";

/** Signs a token the way an identity provider would; `exp` defaults to five minutes from now. */
function sign(key: Uint8Array | KeyObject, alg: Alg, claims: JWTPayload, options: { exp?: number | string; sub?: string } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime(options.exp ?? "5m");
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  return jwt.sign(key);
}

const secretKey = new TextEncoder().encode(SECRET);
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

async function loginWith(app: App, input: Record<string, unknown>) {
  return gql<{ login: { token: string; session: { userId: string; username: string } } }>(app.url, LOGIN, { input });
}

describe("jwt auth mode", () => {
  // Each describe block below starts an instance of its own.
  const { startApp } = useService({ instances: 0 });
  const start = (env: Record<string, string>) => startApp({ AUTH_MODE: "jwt", ...env });

  describe.each([
    ["HS256", { JWT_SECRET: SECRET }, secretKey],
    ["RS256", { JWT_PUBLIC_KEY: pem(rsa.publicKey) }, rsa.privateKey],
    ["ES256", { JWT_PUBLIC_KEY: pem(ec.publicKey) }, ec.privateKey],
  ] as const)("%s", (alg, env, signingKey) => {
    let app: App;
    beforeAll(async () => {
      app = await start(env);
    });

    it("a valid token logs in as its sub, named by its name claim, and the session token works", async () => {
      const res = await loginWith(app, { idToken: await sign(signingKey, alg, { name: "Ada L." }, { sub: `ada-${alg}` }) });
      expect(res.errors).toBeUndefined();
      expect(res.data!.login.session).toEqual({ userId: `ada-${alg}`, username: "Ada L." });
      const me = await gql<{ me: { userId: string } }>(app.url, "{ me { userId } }", {}, { token: res.data!.login.token });
      expect(me.data?.me.userId).toBe(`ada-${alg}`);
    });

    it("an expired token is UNAUTHENTICATED", async () => {
      const idToken = await sign(signingKey, alg, {}, { sub: "late", exp: Math.floor(Date.now() / 1000) - 60 });
      const res = await loginWith(app, { idToken });
      expect(errorCode(res)).toBe("UNAUTHENTICATED");
      expect(res.errors![0].message).toMatch(/expired/);
    });

    it("a token with a tampered payload is UNAUTHENTICATED", async () => {
      const [header, , signature] = (await sign(signingKey, alg, {}, { sub: "honest" })).split(".");
      const forged = Buffer.from(JSON.stringify({ sub: "admin", exp: Math.floor(Date.now() / 1000) + 300 })).toString("base64url");
      expect(errorCode(await loginWith(app, { idToken: `${header}.${forged}.${signature}` }))).toBe("UNAUTHENTICATED");
    });
  });

  describe("with one HS256 secret", () => {
    let app: App;
    beforeAll(async () => {
      app = await start({ JWT_SECRET: SECRET });
    });

    it.each([
      ["signed with another secret", () => sign(new TextEncoder().encode("another-secret-0123456789abcdef-xyz"), "HS256", {}, { sub: "x" })],
      ["signed with an RSA key (algorithm not accepted)", () => sign(rsa.privateKey, "RS256", {}, { sub: "x" })],
      ["with no sub", () => sign(secretKey, "HS256", {})],
      ["with no exp", () => new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256" }).sign(secretKey)],
      ["that is not a JWT", async () => "not.a.jwt"],
      ["unsigned (alg none)", async () => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub: "x", exp: 9999999999 })).toString("base64url")}.`],
    ])("a token %s is UNAUTHENTICATED", async (_name, make) => {
      expect(errorCode(await loginWith(app, { idToken: await make() }))).toBe("UNAUTHENTICATED");
    });

    it("login without an idToken is BAD_USER_INPUT, even with a dev-mode userId", async () => {
      expect(errorCode(await loginWith(app, { userId: "alice", username: "Alice" }))).toBe("BAD_USER_INPUT");
    });

    it("dev-mode userId and username are ignored: the token alone says who logs in", async () => {
      const idToken = await sign(secretKey, "HS256", { preferred_username: "bobby" }, { sub: "bob" });
      const res = await loginWith(app, { idToken, userId: "mallory", username: "Mallory" });
      expect(res.data?.login.session).toEqual({ userId: "bob", username: "bobby" });
    });

    it("the username is name, else preferred_username, else the sub", async () => {
      const both = await loginWith(app, { idToken: await sign(secretKey, "HS256", { name: "Named", preferred_username: "pref" }, { sub: "u1" }) });
      expect(both.data?.login.session.username).toBe("Named");
      const none = await loginWith(app, { idToken: await sign(secretKey, "HS256", {}, { sub: "auth0|u2" }) });
      expect(none.data?.login.session).toEqual({ userId: "auth0|u2", username: "auth0|u2" });
    });

    it("a sub that cannot be a user id is BAD_USER_INPUT", async () => {
      const res = await loginWith(app, { idToken: await sign(secretKey, "HS256", {}, { sub: "has {braces}" }) });
      expect(errorCode(res)).toBe("BAD_USER_INPUT");
    });
  });

  describe("with JWT_ISSUER and JWT_AUDIENCE set", () => {
    let app: App;
    beforeAll(async () => {
      app = await start({ JWT_PUBLIC_KEY: pem(ec.publicKey), JWT_ISSUER: "https://id.example", JWT_AUDIENCE: "sessionhub" });
    });
    const withClaims = (claims: JWTPayload) => sign(ec.privateKey, "ES256", claims, { sub: "carol" });

    it("a token from the issuer for the audience logs in", async () => {
      const res = await loginWith(app, { idToken: await withClaims({ iss: "https://id.example", aud: ["other", "sessionhub"] }) });
      expect(res.data?.login.session.userId).toBe("carol");
    });

    it.each([
      ["another issuer", { iss: "https://evil.example", aud: "sessionhub" }],
      ["no issuer", { aud: "sessionhub" }],
      ["another audience", { iss: "https://id.example", aud: "other" }],
      ["no audience", { iss: "https://id.example" }],
    ])("a token with %s is UNAUTHENTICATED", async (_name, claims) => {
      expect(errorCode(await loginWith(app, { idToken: await withClaims(claims) }))).toBe("UNAUTHENTICATED");
    });
  });

  it("dev auth mode ignores an idToken and needs a userId", async () => {
    const app = await startApp();
    const idToken = await sign(secretKey, "HS256", {}, { sub: "from-token" });
    expect(errorCode(await loginWith(app, { idToken }))).toBe("BAD_USER_INPUT");
    expect((await loginWith(app, { idToken, userId: "dev-user" })).data?.login.session.userId).toBe("dev-user");
  });

  it.each([
    ["jwt mode without a key", { AUTH_MODE: "jwt" }, /^JWT_SECRET: /],
    ["a secret under 32 bytes", { AUTH_MODE: "jwt", JWT_SECRET: "too-short" }, /^JWT_SECRET: expected at least 32 bytes/],
    ["a public key that is not PEM", { AUTH_MODE: "jwt", JWT_PUBLIC_KEY: "not a pem" }, /^JWT_PUBLIC_KEY: expected a PEM public key/],
    ["an EC key on P-384", { AUTH_MODE: "jwt", JWT_PUBLIC_KEY: pem(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey) }, /^JWT_PUBLIC_KEY: /],
    ["both a secret and a public key", { AUTH_MODE: "jwt", JWT_SECRET: SECRET, JWT_PUBLIC_KEY: pem(rsa.publicKey) }, /^JWT_PUBLIC_KEY: set either/],
  ])("configuration with %s is refused", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("a PEM with escaped newlines (one-line environment value) is accepted", () => {
    const oneLine = pem(rsa.publicKey).replace(/\n/g, "\\n");
    expect(loadConfig({ AUTH_MODE: "jwt", JWT_PUBLIC_KEY: oneLine }).authMode).toBe("jwt");
  });
});
