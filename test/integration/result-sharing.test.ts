import "reflect-metadata";
import { PresenceResolver } from "../../src/modules/presence/presence.resolver";
import { gql, login, openSocket, waitFor, type TestSocket } from "../helpers/client";
import { useService } from "../helpers/suite";

type Event = Record<string, unknown>;

const FULL = "subscription { presenceChanged { userId status previous } }";
const NARROW = "subscription { presenceChanged { who: userId status } }";
const HEARTBEAT = "mutation ($status: PresenceStatus) { heartbeat(status: $status) { status } }";
/** Subscribers of the same operation. */
const SAME = 4;

describe("result sharing", () => {
  const { apps } = useService();
  const sockets: TestSocket[] = [];

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });

  /**
   * Subscribes `query` on its own anonymous socket, authenticating the operation through
   * `extensions.headers` (as GraphiQL does), so no subscriber is an online user itself.
   */
  async function subscribe(token: string, query: string) {
    const socket = openSocket(apps[0].url);
    sockets.push(socket);
    await socket.connected;
    const events: Event[] = [];
    const errors: unknown[] = [];
    socket.client.subscribe<{ presenceChanged: Event }>(
      { query, extensions: { headers: { authorization: `Bearer ${token}` } } },
      {
        next: (result) => (result.data ? events.push(result.data.presenceChanged) : errors.push(...(result.errors ?? []))),
        error: (err) => errors.push(err),
        complete: () => undefined,
      },
    );
    return { events, errors };
  }

  async function heartbeat(token: string, status?: string) {
    const res = await gql(apps[0].url, HEARTBEAT, { status }, { token });
    if (!res.data) throw new Error(JSON.stringify(res.errors));
  }

  it("subscribers of one presenceChanged operation get each event from one execution of the field", async () => {
    const url = apps[0].url;
    const [watcher, probe, marker] = [await login(url, "watcher"), await login(url, "probe"), await login(url, "marker")];
    const same = await Promise.all(Array.from({ length: SAME }, () => subscribe(watcher.token, FULL)));
    const narrow = await subscribe(watcher.token, NARROW);
    const all = [...same, narrow];
    // The subscriptions share one Redis SUBSCRIBE, so PUBSUB NUMSUB cannot tell when the last is
    // live: the probe changes status until every one has had an event.
    let status = "AWAY";
    await waitFor(
      async () => {
        status = status === "AWAY" ? "BUSY" : "AWAY";
        await heartbeat(probe.token, status);
        return all.every((s) => s.events.length > 0);
      },
      5000,
      () => JSON.stringify(all.map((s) => s.errors)),
    );

    // Counted from here on: the events of a user no earlier event was about.
    const executions = jest.spyOn(PresenceResolver.prototype, "presenceChanged");
    const ofMarker = (events: Event[]) => events.filter((e) => (e.userId ?? e.who) === "marker");
    await heartbeat(marker.token); // OFFLINE -> ONLINE
    await heartbeat(marker.token, "BUSY");
    await heartbeat(marker.token, "AWAY");
    await waitFor(() => all.every((s) => ofMarker(s.events).length === 3), 5000, () => JSON.stringify(all.map((s) => s.events)));

    const executed = executions.mock.calls.filter(([payload]) => payload.userId === "marker");
    // Once per event for each distinct operation (FULL and NARROW), not once per subscriber.
    expect(executed).toHaveLength(3 * 2);
    const expected = [
      { userId: "marker", status: "ONLINE", previous: "OFFLINE" },
      { userId: "marker", status: "BUSY", previous: "ONLINE" },
      { userId: "marker", status: "AWAY", previous: "BUSY" },
    ];
    for (const subscriber of same) expect(ofMarker(subscriber.events)).toEqual(expected);
    expect(ofMarker(narrow.events)).toEqual(expected.map(({ userId, status }) => ({ who: userId, status })));
    expect(all.flatMap((s) => s.errors)).toEqual([]);
  });
});
