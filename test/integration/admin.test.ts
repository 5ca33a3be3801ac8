import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  DeploymentDocument,
  MeDocument,
  PushMessageDocument,
  RevokeUserSessionDocument,
  RevokeUserSessionsDocument,
  UserLookupDocument,
  UserPresenceDocument,
  UserSessionsDocument,
  UserUnreadCountDocument,
} from "../generated/graphql";
import { ADMIN_KEY } from "../helpers/app";
import { errorCode, gql, gqlDoc, login, openSocket } from "../helpers/client";
import { useService } from "../helpers/suite";

const ADMIN = { headers: { "x-api-key": ADMIN_KEY } };
const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";
const adminUrl = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, "/admin");

/** An admin operation with variables that would be valid; `send` may replace some of them. */
const adminCall = <R, V extends Record<string, unknown>>(name: string, document: TypedDocumentNode<R, V>, variables: V) => ({
  name,
  takesUserId: "userId" in variables,
  send: (url: string, headers: Record<string, string>, replaced: Record<string, unknown> = {}) =>
    gqlDoc(url, document, { ...variables, ...replaced }, { headers }),
});

/** Every admin operation. */
const ADMIN_CALLS = [
  adminCall("deployment", DeploymentDocument, {}),
  adminCall("userSessions", UserSessionsDocument, { userId: "zoe" }),
  adminCall("userPresence", UserPresenceDocument, { userId: "zoe" }),
  adminCall("userUnreadCount", UserUnreadCountDocument, { userId: "zoe" }),
  adminCall("revokeUserSession", RevokeUserSessionDocument, { userId: "zoe", sessionId: "s1" }),
  adminCall("revokeUserSessions", RevokeUserSessionsDocument, { userId: "zoe" }),
  adminCall("pushMessage", PushMessageDocument, { to: ["zoe"], body: "your order shipped" }),
];

describe("admin operations", () => {
  const { apps: [a, b], startApp } = useService({ instances: 2 });

  it.each(ADMIN_CALLS)("$name refuses a missing or wrong x-api-key with FORBIDDEN, and answers nothing", async ({ send }) => {
    const refused: Record<string, string>[] = [{}, { "x-api-key": "wrong-key-0123456789" }, { "x-api-key": "" }];
    for (const headers of refused) {
      const res = await send(a.url, headers);
      expect(errorCode(res)).toBe("FORBIDDEN");
      expect(res.data ?? null).toBeNull();
    }
  });

  it("with no ADMIN_API_KEY configured, admin calls get UNAUTHENTICATED", async () => {
    const off = await startApp({ ADMIN_API_KEY: "" });
    for (const { send } of ADMIN_CALLS) expect(errorCode(await send(off.url, ADMIN.headers))).toBe("UNAUTHENTICATED");
  });

  it("a user id that is no user id is BAD_USER_INPUT", async () => {
    for (const { name, send } of ADMIN_CALLS.filter((call) => call.takesUserId)) {
      expect([name, errorCode(await send(a.url, ADMIN.headers, { userId: "no {braces}" }))]).toEqual([name, "BAD_USER_INPUT"]);
    }
  });

  it("userPresence and userUnreadCount read any user's presence and inbox", async () => {
    const carol = await login(a.url, "adm-carol");
    const dan = await login(b.url, "adm-dan");
    const socket = openSocket(b.url, carol.token);
    await socket.connected;
    for (const body of ["one", "two"]) expect((await gql(a.url, SEND, { to: "adm-carol", body }, { token: dan.token })).errors).toBeUndefined();

    const res = await gqlDoc(a.url, UserLookupDocument, { userId: "adm-carol" }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      userSessions: [{ id: carol.sessionId }],
      userPresence: { userId: "adm-carol", status: "ONLINE", online: true, connections: 1 },
      userUnreadCount: 2,
    });
    const nobody = await gqlDoc(a.url, UserLookupDocument, { userId: "adm-nobody" }, ADMIN);
    expect(nobody.data).toEqual({
      userSessions: [],
      userPresence: { userId: "adm-nobody", status: "OFFLINE", online: false, connections: 0 },
      userUnreadCount: 0,
    });
    await socket.dispose();
  });

  it("revokeUserSession ends one session and closes its sockets on every instance with 4401; the user's other sessions stay", async () => {
    const first = await login(a.url, "adm-erin");
    const second = await login(a.url, "adm-erin");
    const revoked = openSocket(b.url, first.token);
    const kept = openSocket(b.url, second.token);
    await Promise.all([revoked.connected, kept.connected]);

    const res = await gqlDoc(a.url, RevokeUserSessionDocument, { userId: "adm-erin", sessionId: first.sessionId }, ADMIN);
    expect(res).toMatchObject({ data: { revokeUserSession: true } });
    expect(await revoked.closed).toBe(4401);
    expect((await gqlDoc(b.url, MeDocument, {}, { token: first.token })).data?.me).toBeNull();
    expect((await gqlDoc(b.url, MeDocument, {}, { token: second.token })).data?.me).toEqual({ id: second.sessionId, current: true });
    expect((await gqlDoc(a.url, UserSessionsDocument, { userId: "adm-erin" }, ADMIN)).data?.userSessions.map((s) => s.id)).toEqual([second.sessionId]);

    // Gone already, or another user's: NOT_FOUND, and nothing ends.
    for (const variables of [{ userId: "adm-erin", sessionId: first.sessionId }, { userId: "adm-frank", sessionId: second.sessionId }]) {
      expect(errorCode(await gqlDoc(a.url, RevokeUserSessionDocument, variables, ADMIN))).toBe("NOT_FOUND");
    }
    expect((await gqlDoc(b.url, MeDocument, {}, { token: second.token })).data?.me).toEqual({ id: second.sessionId, current: true });
    await kept.dispose();
  });

  describe("GET /admin", () => {
    it("serves the page, its script and styles compressed, with an ETag and a Content-Security-Policy of this origin only", async () => {
      const page = await fetch(adminUrl(a.url), { headers: { "accept-encoding": "br, gzip" } });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-encoding")).toBe("br");
      expect(page.headers.get("content-security-policy")).toBe("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
      const html = await page.text();
      expect(html).toContain("<title>sessionhub admin</title>");
      // No inline script or style: the policy would block it.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=/);

      const etag = page.headers.get("etag")!;
      expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
      const again = await fetch(adminUrl(a.url), { headers: { "if-none-match": etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");

      for (const [file, type] of [["admin.js", "text/javascript"], ["admin.css", "text/css"]]) {
        const res = await fetch(`${adminUrl(a.url)}/${file}`, { headers: { "accept-encoding": "gzip" } });
        expect([res.status, res.headers.get("content-type"), res.headers.get("content-encoding")]).toEqual([200, `${type}; charset=utf-8`, "gzip"]);
        expect((await res.text()).length).toBeGreaterThan(100);
      }
    });

    it("is a 404, like any unknown path, when no admin key is configured", async () => {
      const off = await startApp({ ADMIN_API_KEY: "" });
      for (const file of ["", "/", "/admin.js", "/admin.css"]) {
        const res = await fetch(`${adminUrl(off.url)}${file}`);
        expect([file, res.status]).toEqual([file, 404]);
      }
    });
  });
});
