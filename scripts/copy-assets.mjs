// Copies the Lua scripts beside the compiled stores (tsc copies only .ts output).
import { cpSync, readdirSync } from "node:fs";
import path from "node:path";

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".lua") ? [path.join(dir, e.name)] : [],
  );
for (const file of walk("src")) cpSync(file, path.join("dist", path.relative("src", file)));
