// Runs after every `npm install`/`npm ci` (package.json "postinstall"). Rewrites two statements
// of ioredis 6.0.0 so that each command's reject function is bound to a local before it is stored
// on the command. Behaviour is the same. Why: when V8 11 (Node 20) runs a statement
// `obj.prop = () => ...` in code that is not optimized, the new closure's context outlives every
// young-generation collection until the next mark-compact. Every ioredis command runs one such
// statement (two in cluster mode), so in the processes where V8 does not optimize them (about
// half, decided early in a process's life), every command and everything it holds was promoted:
// about 850 more bytes per message, and more mark-compacts in the message path. See "Performance"
// in the README. Fails the install when the text is not found, so an ioredis upgrade is checked
// again by hand.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const VERSION = "6.0.0";
const root = dirname(createRequire(import.meta.url).resolve("ioredis")); // .../ioredis/built
const installed = JSON.parse(readFileSync(join(root, "..", "package.json"), "utf8")).version;
if (installed !== VERSION) {
  throw new Error(`scripts/patch-ioredis.mjs is written for ioredis ${VERSION}, found ${installed}: check it again`);
}

// Each statement `<store> = <function literal>` becomes `const <name> = <function literal>;`
// followed by `<store> = <name>;`. The literal ends at the first `};` line at the statement's
// indentation (its inner blocks are indented deeper).
const statements = [
  { file: "Command.js", indent: 12, store: "this.reject", name: "rejectCommand", start: "(err) => {" },
  { file: "cluster/index.js", indent: 12, store: "command.reject", name: "rejectRouted", start: "function (err) {" },
];

for (const { file, indent, store, name, start } of statements) {
  const path = join(root, file);
  const source = readFileSync(path, "utf8");
  const pad = " ".repeat(indent);
  const assignment = `${pad}${store} = ${name};\n`;
  if (source.includes(assignment)) continue; // already applied
  const literal = `\n${pad}${store} = ${start}\n`;
  const closing = `\n${pad}};\n`;
  const at = source.indexOf(literal);
  const end = at < 0 ? -1 : source.indexOf(closing, at + literal.length);
  if (end < 0 || source.indexOf(literal, at + 1) >= 0) {
    throw new Error(`scripts/patch-ioredis.mjs: the expected \`${store} = ${start}\` is not in ${path} once`);
  }
  const close = end + closing.length;
  const bound = `\n${pad}const ${name} = ${start}\n` + source.slice(at + literal.length, close) + assignment;
  writeFileSync(path, source.slice(0, at) + bound + source.slice(close));
}
