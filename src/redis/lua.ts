import { readFileSync } from "node:fs";
import path from "node:path";
import type { RedisClient } from "./connections";

export type ScriptArg = string | number;
/** Runs one Lua script atomically (EVALSHA, falling back to EVAL once per connection). */
export type Script = (keys: readonly string[], args: readonly ScriptArg[]) => Promise<unknown>;

/**
 * Registers the `<module>/lua/<name>.lua` scripts on a connection with ioredis `defineCommand`.
 * The number of keys is read from the file's header: every `-- KEYS[n]` line documents one key,
 * so the header cannot drift from what the script is called with.
 */
export function defineScripts<Name extends string>(
  redis: RedisClient,
  dir: string,
  names: readonly Name[],
): Record<Name, Script> {
  const scripts = {} as Record<Name, Script>;
  for (const name of names) {
    const lua = readFileSync(path.join(dir, `${name}.lua`), "utf8");
    const numberOfKeys = new Set(lua.match(/^--\s*KEYS\[\d+\]/gm) ?? []).size;
    // Named by module and script (`sh_sessions_list`): ioredis looks custom commands up by name
    // (auto-pipelining does), so two modules' `list.lua` must not share one.
    const command = `sh_${path.basename(path.dirname(dir))}_${name}`;
    redis.defineCommand(command, { numberOfKeys, lua });
    const run = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[command].bind(redis);
    scripts[name] = (keys, args) => {
      if (keys.length !== numberOfKeys) throw new Error(`${name}.lua takes ${numberOfKeys} keys, got ${keys.length}`);
      return run(...keys, ...args);
    };
  }
  return scripts;
}
