// The configuration table of docs/configuration.md, made from src/config/config.ts (the one list of variables).
//   npm run docs:config     rewrites the table between the markers in docs/configuration.md
// test/unit/config-table.test.ts fails when that table is not what this makes.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { configVariables } from "../src/config/config";

export const README = path.join(__dirname, "..", "docs", "configuration.md");
export const START = "<!-- config-table:start -->";
export const END = "<!-- config-table:end -->";

/** A table cell: one line, with `|` escaped (also inside code spans, as GitHub's tables need). */
const cell = (markdown: string) => markdown.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");

/** The Markdown table: one row per variable, in config.ts's order. */
export function configTable(): string {
  const rows = configVariables.map(
    (v) => `| \`${v.name}\` | ${v.default === undefined ? "unset" : cell(`\`${v.default}\``)} | ${cell(v.doc)} |`,
  );
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

/** What stands between the markers of `readme` (without the newlines next to them). */
export function tableIn(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start || readme.indexOf(START, start + 1) >= 0) {
    throw new Error(`docs/configuration.md needs one ${START} followed by one ${END}`);
  }
  return readme.slice(start + START.length, end).trim();
}

/** `readme` with the generated table between its markers. */
export function withConfigTable(readme: string): string {
  tableIn(readme); // the markers are there, once
  const start = readme.indexOf(START) + START.length;
  return `${readme.slice(0, start)}\n${configTable()}\n${readme.slice(readme.indexOf(END))}`;
}

if (require.main === module) {
  const readme = readFileSync(README, "utf8");
  const updated = withConfigTable(readme);
  if (updated === readme) {
    console.log("docs/configuration.md: the configuration table is up to date");
  } else {
    writeFileSync(README, updated);
    console.log("docs/configuration.md: configuration table rewritten from src/config/config.ts");
  }
}
