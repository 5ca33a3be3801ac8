import type { IncomingMessage } from "node:http";

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1 << 20;

/** A body that cannot be read: the status and message to answer with. */
export interface BodyRefusal {
  status: number;
  message: string;
}

/**
 * Reads an `application/json` request body (UTF-8, not compressed, at most MAX_BODY_BYTES).
 * Other requests (GET, another content type) read as undefined: Apollo refuses them with its own
 * error where it needs a body, as it does for JSON that is not an operation. Resolves with a
 * refusal when the body is too large, compressed, in another charset, not UTF-8 or not JSON.
 */
export function readJsonBody(req: IncomingMessage): Promise<{ body: unknown } | BodyRefusal> {
  const type = req.headers["content-type"];
  if (req.method !== "POST" || type === undefined || mediaType(type) !== "application/json") return Promise.resolve({ body: undefined });
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1].toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return refusal(415, "A JSON request body must be UTF-8");
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return refusal(415, "Compressed request bodies are not accepted");
  if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) return refusal(413, tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: { body: unknown } | BodyRefusal) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      settle({ status: 413, message: tooLarge });
    });
    req.on("end", () => {
      let text: string;
      try {
        text = utf8.decode(Buffer.concat(chunks, size));
      } catch {
        return settle({ status: 400, message: "The request body is not valid UTF-8" });
      }
      try {
        settle({ body: JSON.parse(text) });
      } catch {
        settle({ status: 400, message: "Invalid JSON in the request body" });
      }
    });
    // An aborted upload: the answer goes nowhere, but the request must not wait forever.
    req.on("error", () => settle({ status: 400, message: "The request body could not be read" }));
  });
}

/** Refuses bytes that are not UTF-8 (Buffer#toString would store them as U+FFFD, changing the text). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

const tooLarge = `The request body is larger than ${MAX_BODY_BYTES} bytes`;

const refusal = (status: number, message: string) => Promise.resolve({ status, message });

/** "application/json" of "Application/JSON; charset=utf-8". */
const mediaType = (contentType: string) => contentType.split(";", 1)[0].trim().toLowerCase();
