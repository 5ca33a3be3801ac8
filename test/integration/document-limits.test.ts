import { randomBytes } from "node:crypto";
import { Lexer, Source, TokenKind, getIntrospectionQuery } from "graphql";
import { gql, login, type TestSocket } from "../helpers/client";
import { useService } from "../helpers/suite";
import { connectedSocket, expectPromptAnswer, overBoth, overSocket, timed, type Answer } from "../helpers/transports";

/** A user id no other test uses. */
const user = (name: string) => `${name}-${randomBytes(3).toString("hex")}`;

/** `n` aliased fields, each `prefix<i>: field`, joined. */
const aliased = (n: number, field: string, prefix = "a") => Array.from({ length: n }, (_, i) => `${prefix}${i}: ${field}`).join(" ");

/** `n` aliases of __typename (not counted as aliases): 3 tokens each, so `{ typenames(666) }` is 2000 tokens. */
const typenames = (n: number) => aliased(n, "__typename", "t");

/** An introspection selection whose deepest field (`name`) is at `depth`. */
const deep = (depth: number) => `{ __schema { types { fields { type { ${"ofType { ".repeat(depth - 5)}name${" }".repeat(depth - 5)} } } } } }`;

function tokenCount(source: string): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

/** What an answer says: the codes and messages of its errors, or "ok" with no errors. */
const outcome = (answer: Answer) => answer.errors?.map((e) => `${e.extensions?.code}: ${e.message}`).join("; ") ?? "ok";

describe("document limits (defaults), the same over HTTP and WebSocket", () => {
  const { apps: [app], client, prefix } = useService();
  let token: string;
  let socket: TestSocket;
  let anonymous: TestSocket;

  beforeAll(async () => {
    ({ token } = await login(app.url, user("limits")));
    socket = await connectedSocket(app.url, token);
    anonymous = await connectedSocket(app.url);
  });
  afterAll(async () => {
    await socket?.dispose();
    await anonymous?.dispose();
  });
  afterEach(() => expectPromptAnswer(app.url));

  /** The outcome over both transports, which must agree; HTTP refusals must be 400. */
  async function both(query: string, variables: Record<string, unknown> = {}) {
    const { http, ws } = await overBoth(app.url, socket, query, variables, token);
    expect(outcome(ws)).toBe(outcome(http));
    if (http.errors?.[0]?.extensions?.code === "GRAPHQL_VALIDATION_FAILED") expect(http.status).toBe(400);
    return outcome(http);
  }

  it("tokens: a document of 2000 tokens runs, one of 2001 is refused while it is parsed", async () => {
    const last = `{ ${typenames(666)} }`;
    const over = `{ ${typenames(666)} __typename }`;
    expect([tokenCount(last), tokenCount(over)]).toEqual([2000, 2001]);
    expect(await both(last)).toBe("ok");
    expect(await both(over)).toBe("GRAPHQL_VALIDATION_FAILED: Token limit of 2000 exceeded.");
  });

  it("depth: a selection 20 deep runs, 21 deep is refused", async () => {
    expect(await both(deep(20))).toBe("ok");
    expect(await both(deep(21))).toBe("GRAPHQL_VALIDATION_FAILED: Query depth limit of 20 exceeded, found 21.");
  });

  it("aliases: 30 run, 31 are refused; aliases of __typename are not counted", async () => {
    expect(await both(`{ ${aliased(30, "me { id }")} ${typenames(10)} }`)).toBe("ok");
    expect(await both(`{ ${aliased(31, "me { id }")} }`)).toBe("GRAPHQL_VALIDATION_FAILED: Aliases limit of 30 exceeded, found 31.");
  });

  it("directives: 50 run, 51 are refused", async () => {
    expect(await both(`{ ${aliased(50, "__typename @include(if: true)", "d")} }`)).toBe("ok");
    expect(await both(`{ ${aliased(51, "__typename @include(if: true)", "d")} }`)).toBe("GRAPHQL_VALIDATION_FAILED: Directives limit of 50 exceeded, found 51.");
  });

  it("cost: onlineUsers(first: $n) costs its selection n times, with the variables as sent", async () => {
    const pages = (extra: string) =>
      `query ($n: Int) { ${aliased(4, "onlineUsers(first: $n) { users { userId status online connections } }")} ${extra} }`;
    expect(await both(pages(""), { n: 500 })).toBe("ok"); // 4 x 500 x 5
    expect(await both(pages("__typename"), { n: 500 })).toBe("GRAPHQL_VALIDATION_FAILED: Query cost limit of 10000 exceeded, found 10001.");
    expect(await both(pages("__typename"), { n: 100 })).toBe("ok");
  });

  it("cost: @include(if: $all) counts its selection only when the variables as sent include it", async () => {
    const page = "onlineUsers @include(if: $all) { count nextCursor users { userId status online connections lastSeenAt } }"; // 50 x 8
    const query = `query ($all: Boolean!) { ${aliased(26, page)} }`;
    expect(await both(query, { all: false })).toBe("ok");
    expect(await both(query, { all: true })).toBe("GRAPHQL_VALIDATION_FAILED: Query cost limit of 10000 exceeded, found 10400.");
    expect(await both(query, { all: false })).toBe("ok");
  });

  it("cost: a variable that no cost reads changes nothing, the same document asked again and again", async () => {
    const query = `query ($id: ID) { ${aliased(26, "onlineUsers { count nextCursor users { userId status online connections lastSeenAt } }")} session(id: $id) { id } }`;
    for (const id of ["a", "b", null]) expect(await both(query, { id })).toBe("GRAPHQL_VALIDATION_FAILED: Query cost limit of 10000 exceeded, found 10402.");
    const cheap = `query ($id: ID) { session(id: $id) { id } }`;
    for (const id of ["a", null]) expect(await both(cheap, { id })).toBe("ok");
  });

  it("cost: onlineUsers without first costs its default page of 50", async () => {
    const page = "onlineUsers { count nextCursor users { userId status online connections lastSeenAt } }"; // 50 x 8
    expect(await both(`{ ${aliased(25, page)} }`)).toBe("ok");
    expect(await both(`{ ${aliased(26, page)} }`)).toBe("GRAPHQL_VALIDATION_FAILED: Query cost limit of 10000 exceeded, found 10400.");
  });

  it("cost: messages(first: 200) costs its selection 200 times", async () => {
    const page = "messages(first: 200) { items { body } }"; // 200 x 2
    expect(await both(`{ ${aliased(25, page)} }`)).toBe("ok");
    expect(await both(`{ ${aliased(26, page)} }`)).toBe("GRAPHQL_VALIDATION_FAILED: Query cost limit of 10000 exceeded, found 10400.");
  });

  it("cost: presence(userIds) costs its selection once per id, refused before the resolver reads any", async () => {
    const query = `query ($u: [ID!]!) { ${aliased(20, "presence(userIds: $u) { userId status online connections lastSeenAt }")} }`; // 20 x ids x 5
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `someone-${i}`);
    expect(await both(query, { u: ids(100) })).toBe("ok");
    expect(await both(query, { u: ids(101) })).toBe("GRAPHQL_VALIDATION_FAILED: Query cost limit of 10000 exceeded, found 10100.");
  });

  it("GraphiQL's introspection query passes every limit", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const { http, ws } = await overBoth(app.url, socket, query);
    expect([http.errors, ws.errors]).toEqual([undefined, undefined]);
    expect((ws.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(10);
  });

  it("a refused mutation stores nothing, on either transport", async () => {
    const who = user("refused");
    const loginAs = (alias: string) => `${alias}: login(input: { userId: "${who}" }) { token }`;
    const refused = [
      `mutation { ${Array.from({ length: 31 }, (_, i) => loginAs(`l${i}`)).join(" ")} }`, // aliases
      `mutation { ${loginAs("l")} ${typenames(700)} }`, // tokens
      `mutation { ${loginAs("l")} ${aliased(51, "__typename @skip(if: false)", "d")} }`, // directives
    ];
    for (const query of refused) {
      const { http, ws } = await overBoth(app.url, anonymous, query);
      expect([http.errors?.[0]?.extensions?.code, ws.errors?.[0]?.extensions?.code]).toEqual(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]);
    }
    expect(await client.keys(`${prefix}user:{${who}}*`)).toEqual([]);
  });

  describe("the abuse cases of issue 14 are refused at once", () => {
    const refusedQuickly = async (query: string, variables: Record<string, unknown> = {}) => {
      const { result, ms } = await timed(() => overBoth(app.url, socket, query, variables, token));
      expect([result.http.status, result.http.errors?.[0]?.extensions?.code, result.ws.errors?.[0]?.extensions?.code]).toEqual([
        400,
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
      ]);
      expect(ms).toBeLessThan(2000);
      return result.http.errors![0].message;
    };

    it("10,000 aliases of presence(userIds: $u) (a 400 KB document)", async () => {
      const query = `query ($u: [ID!]!) { ${aliased(10_000, "presence(userIds: $u) { userId status online }", "p")} }`;
      expect(query.length).toBeGreaterThan(400_000);
      const ids = Array.from({ length: 100 }, (_, i) => `victim-${i}`);
      expect(await refusedQuickly(query, { u: ids })).toBe("Token limit of 2000 exceeded.");
    });

    it("50 aliases of messages(first: 200)", async () => {
      expect(await refusedQuickly(`{ ${aliased(50, "messages(first: 200) { items { id from body sentAt } }")} }`)).toBe(
        "Aliases limit of 30 exceeded, found 50.",
      );
    });

    it("500 aliases of one field", async () => {
      expect(await refusedQuickly(`{ ${aliased(500, "me { id }")} }`)).toBe("Token limit of 2000 exceeded.");
    });

    it("a selection 40 levels deep", async () => {
      expect(await refusedQuickly(deep(40))).toBe("Query depth limit of 20 exceeded, found 40.");
    });
  });
});

describe("document limits at the highest GRAPHQL_MAX_TOKENS (5000)", () => {
  const { apps: [app] } = useService({ env: { GRAPHQL_MAX_TOKENS: "5000" } });
  let socket: TestSocket;
  beforeAll(async () => (socket = await connectedSocket(app.url)));
  afterAll(() => socket?.dispose());
  afterEach(() => expectPromptAnswer(app.url));

  /** `n` fragments, each spreading the next; the last spreads the first (a cycle) or selects __typename. */
  const fragments = (n: number, cycle: boolean) =>
    `{ ...F0 } ${Array.from({ length: n }, (_, i) =>
      i === n - 1 && !cycle ? `fragment F${i} on Query { __typename }` : `fragment F${i} on Query { ...F${(i + 1) % n} }`,
    ).join(" ")}`;

  it("the deepest document that fits is refused by the depth limit, not by the stack", async () => {
    const query = deep(1666);
    expect(tokenCount(query)).toBeLessThanOrEqual(5000);
    const { http, ws } = await overBoth(app.url, socket, query);
    expect([outcome(http), outcome(ws)]).toEqual(Array(2).fill("GRAPHQL_VALIDATION_FAILED: Query depth limit of 20 exceeded, found 1666."));
  });

  it("the longest fragment cycle that fits is a validation error", async () => {
    const query = fragments(624, true);
    expect(tokenCount(query)).toBeLessThanOrEqual(5000);
    const { http, ws } = await overBoth(app.url, socket, query);
    expect([http.status, http.errors?.[0]?.extensions?.code, ws.errors?.[0]?.extensions?.code]).toEqual([400, "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]);
    expect(ws.errors![0].message).toMatch(/^Cannot spread fragment "F0" within itself/);
  });

  it("the longest fragment chain that fits is answered", async () => {
    const query = fragments(624, false);
    expect(tokenCount(query)).toBeLessThanOrEqual(5000);
    const { http, ws } = await overBoth(app.url, socket, query);
    expect([http.data, ws.data]).toEqual([{ __typename: "Query" }, { __typename: "Query" }]);
  });

  it("a document of 5001 tokens is refused", async () => {
    const query = `{ ${typenames(1666)} __typename }`;
    expect(tokenCount(query)).toBe(5001);
    const res = await gql(app.url, query);
    expect(res.errors?.[0]?.message).toBe("Token limit of 5000 exceeded.");
  });
});

describe("a mutation over GRAPHQL_MAX_COST", () => {
  const { apps: [app], client, prefix } = useService({ env: { GRAPHQL_MAX_COST: "101" } });
  // Settings.extra holds at most 50 entries, so it costs its selection 50 times: 1 + 50 x 2.
  const UPDATE = "mutation { updateSettings(input: { theme: DARK }) { extra { key value } VERSION } }";

  it("is refused on either transport and stores nothing; the last allowed cost runs", async () => {
    const [stored, refused] = [user("cost-ok"), user("cost-refused")];
    const [{ token: ok }, { token: no }] = await Promise.all([login(app.url, stored), login(app.url, refused)]);
    const socket = await connectedSocket(app.url, no);
    try {
      const overCost = UPDATE.replace("VERSION", "version");
      const [http, ws] = await Promise.all([gql(app.url, overCost, {}, { token: no }), overSocket(socket.client, overCost)]);
      expect([outcome(http), outcome(ws)]).toEqual(Array(2).fill("GRAPHQL_VALIDATION_FAILED: Query cost limit of 101 exceeded, found 102."));
      expect(await client.keys(`${prefix}user:{${refused}}:settings*`)).toEqual([]);
      expect(outcome(await gql(app.url, UPDATE.replace("VERSION", ""), {}, { token: ok }))).toBe("ok");
      expect(await client.hget(`${prefix}user:{${stored}}:settings`, "theme")).toBe("DARK");
    } finally {
      await socket.dispose();
    }
    await expectPromptAnswer(app.url);
  });
});
