// Copies what tsc does not emit beside the compiled code: the stores' Lua scripts and the admin
// page's files (src/server/admin: HTML, script, styles).
import { cpSync, readdirSync } from "node:fs";
import path from "node:path";

const ADMIN_PAGE = path.join("src", "server", "admin");
const isAsset = (file) => file.endsWith(".lua") || path.dirname(file) === ADMIN_PAGE;
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
for (const file of walk("src").filter(isAsset)) cpSync(file, path.join("dist", path.relative("src", file)));
