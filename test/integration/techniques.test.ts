import type { Socket } from "node:net";
import { Redis } from "ioredis";
import { connectRedis, quitRedis } from "../../src/redis/connections";
import { useService } from "../helpers/suite";

// Each technique of docs/architecture.md ("Techniques") that leans on another package, checked
// for its effect, so an upgrade that silently undoes it fails here.

describe("techniques keep their effect", () => {
  describe("write coalescing", () => {
    const { redis } = useService({ instances: 0 });

    it("the commands of one event-loop turn leave in one socket write", async () => {
      const connections = await connectRedis({ url: redis.url, cluster: false, commandTimeoutMs: 2000 });
      const command = connections.command as Redis;
      const socket = command.stream as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
      let writes = 0;
      const { _write, _writev } = socket;
      socket._write = function (...args: unknown[]) {
        writes++;
        return _write.apply(this, args);
      };
      socket._writev = function (...args: unknown[]) {
        writes++;
        return _writev.apply(this, args);
      };
      try {
        const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => command.echo(String(i))));
        expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
        expect(writes).toBe(1);
      } finally {
        Object.assign(socket, { _write, _writev });
        await quitRedis(connections);
      }
    });
  });
});
