import { collect, errorCode, gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { useClusterService } from "../helpers/suite";

const RECEIVED = "subscription { messageReceived { id body } }";
const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";

/** Every node of the cluster down at once: ioredis' Cluster client would queue commands with no timer. */
describe("Redis Cluster outage", () => {
  const { apps: [app], cluster } = useClusterService();
  const sockets: TestSocket[] = [];

  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
  });

  it("with every node down, requests get SERVICE_UNAVAILABLE at once; the service recovers by itself", async () => {
    const alice = await login(app.url, "alice");
    const before = openSocket(app.url, alice.token);
    sockets.push(before);
    await before.connected;
    collect(before.client, RECEIVED);

    await cluster.stopNodes();
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = Date.now();
      // unreadCount reads Redis whatever the instance remembers of the session.
      const res = await gql(app.url, "{ unreadCount }", {}, { token: alice.token });
      expect(errorCode(res)).toBe("SERVICE_UNAVAILABLE");
      expect(Date.now() - started).toBeLessThan(2000);
    }

    // The nodes come back empty (tests keep no data), so new sessions show the recovery.
    await cluster.startNodes();
    let bob: Awaited<ReturnType<typeof login>> | undefined;
    await waitFor(async () => (bob = await login(app.url, "bob").catch(() => undefined)) !== undefined, 20_000);
    const carol = await login(app.url, "carol");
    const socket = openSocket(app.url, bob!.token);
    sockets.push(socket);
    await socket.connected;
    const received = collect<{ messageReceived: { body: string } }>(socket.client, RECEIVED);
    await waitFor(async () => {
      const res = await gql(app.url, SEND, { to: "bob", body: "after the outage" }, { token: carol.token });
      return res.errors === undefined && received.results.length > 0;
    }, 10_000);
    expect(received.results[0].data?.messageReceived.body).toBe("after the outage");
  }, 60_000);
});
