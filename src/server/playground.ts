import type { ApolloServerPlugin } from "@apollo/server";

const DEFAULT_QUERY = `# 1. Log in (dev auth mode), copy the token into the Headers tab:
#    { "Authorization": "Bearer <token>" }
# 2. Then try: query { me { id username } sessions { id current lastSeenAt } }
mutation Login {
  login(input: { userId: "alice", username: "Alice" }) {
    token
    session { id userId expiresAt }
  }
}
`;

/**
 * GraphiQL served by the service itself (scripts, styles and editor workers are inlined in one
 * page, so it works with no CDN or other outside request). Subscriptions go over graphql-ws;
 * its header editor reaches the server as `extensions.headers`, which the WebSocket context reads.
 * The page is megabytes of inlined code: it is loaded and rendered on its first request, not at
 * start, so an instance that never serves it does not hold it in memory.
 */
export function playgroundPlugin(): ApolloServerPlugin {
  let page: Promise<string> | undefined;
  const render = async () => {
    const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
    return renderGraphiQL({
      title: "sessionhub",
      endpoint: "/graphql",
      subscriptionsProtocol: "WS",
      defaultQuery: DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: "Bearer <token from login>" }, null, 2),
    });
  };
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html: () => (page ??= render().catch((err) => ((page = undefined), Promise.reject(err)))) };
        },
      };
    },
  };
}
