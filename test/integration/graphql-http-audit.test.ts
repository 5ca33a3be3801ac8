import { serverAudits } from "graphql-http";
import type { App } from "../../src/app";
import { startTestApp } from "../helpers/app";
import { startTestRedis, type TestRedis } from "../helpers/redis";

// The GraphQL-over-HTTP spec's audits: every MUST holds (an "error" result is a MUST that failed;
// "warn" and "notice" are SHOULD and MAY, see docs/architecture.md).
describe("GraphQL over HTTP audit (graphql-http)", () => {
  let redis: TestRedis;
  let app: App;
  beforeAll(async () => {
    redis = await startTestRedis();
    app = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.close();
  });

  for (const audit of serverAudits({ url: () => app.url })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      expect({ id: audit.id, status: result.status === "error" ? `${result.status}: ${result.reason}` : "not an error" }).toEqual({
        id: audit.id,
        status: "not an error",
      });
    });
  }
});
