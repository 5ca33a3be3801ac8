import { ApolloServer, type BaseContext } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { defineIntegrationTestSuite } from "@apollo/server-integration-testsuite";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { apolloHttpHandler } from "../../src/server/apollo-http";

// Apollo's own suite for integration authors, run against the node:http integration that serves
// /graphql (see "Apollo's integration suite" in docs/architecture.md for the cases that differ).
defineIntegrationTestSuite(
  async (serverOptions, testOptions) => {
    const httpServer = http.createServer();
    const server = new ApolloServer<BaseContext>({
      ...serverOptions,
      plugins: [...(serverOptions.plugins ?? []), ApolloServerPluginDrainHttpServer({ httpServer })],
    });
    await server.start();
    const context = testOptions?.context ?? (async () => ({}));
    httpServer.on(
      "request",
      apolloHttpHandler(server, () => context(), (err) => {
        throw err;
      }),
    );
    await new Promise<void>((resolve) => httpServer.listen({ port: 0, host: "127.0.0.1" }, resolve));
    const { port } = httpServer.address() as AddressInfo;
    return { server, url: `http://127.0.0.1:${port}/` };
  },
  { serverIsStartedInBackground: false },
);
