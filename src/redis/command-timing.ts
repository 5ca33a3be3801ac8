import type { Command } from "ioredis";
import type { RedisClient } from "./connections";

/** Hears each command once it settles: its name, how long it took (s), and its error if it failed. */
export type CommandObserver = (name: string, seconds: number, error: Error | undefined) => void;

/** Marks a command already timed: ioredis may send one command through sendCommand more than once. */
const timed = Symbol("sessionhub.timed");
type TimedCommand = Command & { [timed]?: true };

/**
 * Times every command of `client` (its scripts, pipelines and MULTI included), from the moment it
 * is sent (time queued while disconnected counts: the caller waits it too) to its reply.
 *
 * This leans on ioredis internals: ioredis 6 has no per-client command hook (its
 * diagnostics_channel tracing is one channel for every client of the process, and copies each
 * command's arguments), so this wraps the client's own `sendCommand`, through which every command
 * of a Redis or a Cluster client passes (Commander's methods, Pipeline.exec, scripts), as ioredis
 * 6 is written. A command may pass through it again (offline queue flush, resend after a
 * reconnect): it is timed from its first pass only. After upgrading ioredis, check that
 * `sendCommand(command, ...)` is still what those call; test/integration/metrics.test.ts fails when
 * commands are no longer timed.
 */
export function timeCommands(client: RedisClient, observe: CommandObserver): void {
  const send = client.sendCommand as (this: RedisClient, command: TimedCommand, ...rest: unknown[]) => unknown;
  const wrapped = function (this: RedisClient, command: TimedCommand, ...rest: unknown[]) {
    if (command[timed] === undefined) {
      command[timed] = true;
      const startedAt = performance.now();
      command.promise.then(
        () => observe(command.name, (performance.now() - startedAt) / 1000, undefined),
        (err: Error) => observe(command.name, (performance.now() - startedAt) / 1000, err),
      );
    }
    return send.call(this, command, ...rest);
  };
  Object.assign(client, { sendCommand: wrapped });
}
