import crypto from "node:crypto";
import type { Socket } from "node:net";
import { Redis } from "ioredis";
import Negotiator from "negotiator";
import { connectRedis, quitRedis } from "../../src/redis/connections";
import { gql, login } from "../helpers/client";
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

  /**
   * patches/@apollo+server+5.5.1.patch: Apollo Server hashes each request's query text, negotiates
   * its Accept header twice and parses its Content-Type; the patch has it remember each result.
   */
  describe("Apollo Server remembers its per-request work (patches/)", () => {
    const {
      apps: [app],
    } = useService();
    const hashed: string[] = [];
    const createHash = crypto.createHash;
    const MIMEType = jest.requireActual<{ parse(text: string): unknown }>("whatwg-mimetype");

    beforeAll(() => {
      jest.spyOn(crypto, "createHash").mockImplementation((algorithm: string, options?: crypto.HashOptions) => {
        const hash = createHash(algorithm, options);
        const update = hash.update.bind(hash) as (data: crypto.BinaryLike) => crypto.Hash;
        return Object.assign(hash, { update: (data: crypto.BinaryLike) => (hashed.push(String(data)), update(data)) });
      });
    });
    afterAll(() => jest.restoreAllMocks());

    it("a repeated request hashes its query, negotiates its Accept header and parses its Content-Type only the first time", async () => {
      const { token } = await login(app.url, "patched");
      const negotiations = jest.spyOn(Negotiator.prototype, "mediaType");
      const parses = jest.spyOn(MIMEType, "parse");
      // Texts no earlier request sent, so the first request finds none of them remembered.
      const unique = crypto.randomBytes(4).toString("hex");
      const query = `query Patched${unique} { me { id } }`;
      const headers = { accept: `application/graphql-response+json, application/json;q=0.9, text/x-${unique};q=0.1`, "content-type": `application/json; x-${unique}=1` };
      const send = () => gql<{ me: { id: string } }>(app.url, query, {}, { token, headers });

      expect((await send()).data?.me).toBeTruthy();
      // The spies see Apollo's work: the first request does it.
      expect(hashed.filter((text) => text === query)).toHaveLength(1);
      expect(negotiations.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(parses).toHaveBeenCalledWith(headers["content-type"]);

      negotiations.mockClear();
      parses.mockClear();
      for (let i = 0; i < 5; i++) expect((await send()).data?.me).toBeTruthy();
      expect(hashed.filter((text) => text === query)).toHaveLength(1);
      expect(negotiations).not.toHaveBeenCalled();
      expect(parses).not.toHaveBeenCalled();
    });
  });
});
