import { serverAudits } from "graphql-http";
import { useService } from "../helpers/suite";

// The GraphQL-over-HTTP spec's audits: every MUST holds (an "error" result is a MUST that failed;
// "warn" and "notice" are SHOULD and MAY, see docs/architecture.md).
describe("GraphQL over HTTP audit (graphql-http)", () => {
  const {
    apps: [app],
  } = useService();

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
