import { ADMIN_KEY } from "../helpers/app";
import { errorCode, gql, login, openSocket, waitFor } from "../helpers/client";
import { useService } from "../helpers/suite";

/** Runs a request and returns its result with how long it took. */
async function timed<T>(request: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await request();
  return { result, ms: Date.now() - started };
}

describe("Redis outage", () => {
  // AOF on, so data written before the outage is still there after the restart.
  const { apps: [app], redis } = useService({ redisArgs: ["--appendonly", "yes", "--appendfsync", "always"] });
  const health = (path: "/healthz" | "/readyz") => fetch(app.url.replace("/graphql", path));

  it("while Redis is stopped requests fail fast with SERVICE_UNAVAILABLE and /readyz is 503; after it restarts the service recovers by itself", async () => {
    const { token, sessionId } = await login(app.url, "outage");
    expect((await health("/readyz")).status).toBe(200);

    await redis.stop();

    // Each fails within the command timeout (2 s by default) plus some slack, never hangs.
    const me = await timed(() => gql(app.url, "{ sessions { id } }", {}, { token }));
    expect(errorCode(me.result)).toBe("SERVICE_UNAVAILABLE");
    expect(me.ms).toBeLessThan(3000);
    const loginAttempt = await timed(() => gql(app.url, 'mutation { login(input: { userId: "late" }) { token } }'));
    expect(errorCode(loginAttempt.result)).toBe("SERVICE_UNAVAILABLE");
    expect(loginAttempt.ms).toBeLessThan(3000);
    const admin = await gql(app.url, "query { userSessions(userId: \"outage\") { id } }", {}, { headers: { "x-api-key": ADMIN_KEY } });
    expect(errorCode(admin)).toBe("SERVICE_UNAVAILABLE");
    expect(admin.errors![0].message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/); // no internals on the wire

    const ready = await timed(() => health("/readyz"));
    expect(ready.result.status).toBe(503);
    expect(ready.ms).toBeLessThan(3000);
    expect((await health("/healthz")).status).toBe(200);

    const socket = openSocket(app.url, token);
    expect(await socket.closed).toBe(1013); // try again later, not "unauthorized"
    await socket.dispose();

    await redis.start();

    await waitFor(async () => (await health("/readyz")).status === 200, 10_000);
    const after = await gql<{ sessions: { id: string }[] }>(app.url, "{ sessions { id } }", {}, { token });
    expect(after.data?.sessions.map((s) => s.id)).toEqual([sessionId]);
    expect((await login(app.url, "after-outage")).token).toBeTruthy();

    // Pub/sub recovered too: a revocation still reaches an open socket.
    const other = await login(app.url, "outage");
    const live = openSocket(app.url, other.token);
    await live.connected;
    await gql(app.url, "mutation ($id: ID!) { revokeSession(id: $id) }", { id: other.sessionId }, { token });
    expect(await live.closed).toBe(4401);
    await live.dispose();
  });

  it("/healthz answers 200 with Redis up", async () => {
    const res = await health("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});
