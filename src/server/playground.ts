import type { ApolloServerPlugin } from "@apollo/server";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";

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
 */
export function playgroundPlugin(): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return {
            html: renderGraphiQL({
              title: "sessionhub",
              endpoint: "/graphql",
              subscriptionsProtocol: "WS",
              defaultQuery: DEFAULT_QUERY,
              headers: JSON.stringify({ Authorization: "Bearer <token from login>" }, null, 2),
            }),
          };
        },
      };
    },
  };
}
