import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { RedisClient } from "./connections";
import { publishCommandOf } from "./sharded-pubsub";

export type ScriptArg = string | number;
/** Runs one Lua script atomically (EVALSHA; EVAL when that Redis does not know the script yet). */
export type Script = (keys: readonly string[], args: readonly ScriptArg[]) => Promise<unknown>;

/** A line that includes another Lua file: `-- #include <file>.lua`. */
const INCLUDE = /^--\s*#include\s+(\S+\.lua)\s*$/gm;

/**
 * Loads the `<module>/lua/<name>.lua` scripts. The number of keys is read from the file's header:
 * every `-- KEYS[n]` line documents one key, so the header cannot drift from what the script is
 * called with. A line `-- #include <file>.lua` is replaced by that file of the same directory, so
 * a function several scripts share (such as the one that writes an event) is written once.
 * Every script starts with `local publishCommand`: the command it announces with, PUBLISH, or
 * SPUBLISH on a Redis Cluster (sharded pub/sub, see sharded-pubsub.ts), chosen here for all.
 * A script runs by EVALSHA; on NOSCRIPT (a restarted Redis, a Cluster node new to it), which ran
 * nothing, by EVAL, which also caches it there. Not ioredis' `defineCommand`: its command
 * subclass, argument copies and extra promise per call cost CPU on every message.
 */
export function defineScripts<Name extends string>(
  redis: RedisClient,
  dir: string,
  names: readonly Name[],
): Record<Name, Script> {
  const scripts = {} as Record<Name, Script>;
  for (const name of names) {
    const own = readFileSync(path.join(dir, `${name}.lua`), "utf8");
    // Counted before the includes: only the script's own header says what it is called with.
    const numberOfKeys = new Set(own.match(/^--\s*KEYS\[\d+\]/gm) ?? []).size;
    const lua =
      `local publishCommand = '${publishCommandOf(redis)}'\n` +
      own.replace(INCLUDE, (_line, file: string) => readFileSync(path.join(dir, file), "utf8"));
    const sha = createHash("sha1").update(lua).digest("hex");
    scripts[name] = (keys, args) => {
      if (keys.length !== numberOfKeys) throw new Error(`${name}.lua takes ${numberOfKeys} keys, got ${keys.length}`);
      return redis.evalsha(sha, numberOfKeys, ...keys, ...args).catch((err: Error) => {
        if (!err.message.startsWith("NOSCRIPT")) throw err;
        return redis.eval(lua, numberOfKeys, ...keys, ...args);
      });
    };
  }
  return scripts;
}
