import { readFileSync } from "node:fs";
import { configTable, README, tableIn } from "../../scripts/config-table";
import { configVariables, loadConfig } from "../../src/config/config";

describe("the configuration table of docs/configuration.md", () => {
  it("is the table src/config/config.ts makes (after changing a variable, run `npm run docs:config`)", () => {
    expect(tableIn(readFileSync(README, "utf8"))).toBe(configTable());
  });

  it("lists every variable loadConfig reads, and loadConfig reads every variable it lists", () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, name) => {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
    });
    loadConfig(env);
    expect([...read].sort()).toEqual(configVariables.map((v) => v.name).sort());
  });
});
