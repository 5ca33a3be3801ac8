import type { RequestHandler, Response } from "express";
import { badInput } from "../errors/errors";

/** Largest accepted request body. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * Reads an `application/json` request body (UTF-8, not compressed, at most MAX_BODY_BYTES) into
 * `req.body` for Apollo, which checks everything else about it. A body that cannot be read is
 * answered here as a GraphQL error response (BAD_USER_INPUT), not Express's HTML error page.
 * Other requests get `req.body` undefined, which Apollo refuses with its own error, as it does
 * for a JSON body that is not an operation. It does in one step what express.json() spreads over
 * several packages: this is the path every HTTP operation takes.
 */
export function jsonBody(): RequestHandler {
  return (req, res, next) => {
    req.body = undefined;
    const type = req.headers["content-type"];
    if (req.method !== "POST" || type === undefined || mediaType(type) !== "application/json") return next();
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1].toLowerCase();
    if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return refuse(res, 415, "A JSON request body must be UTF-8");
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
      return refuse(res, 415, "Compressed request bodies are not accepted");
    }
    if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) return refuse(res, 413, tooLarge);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      refused = true;
      refuse(res, 413, tooLarge);
    });
    req.on("end", () => {
      if (refused) return;
      try {
        req.body = JSON.parse(Buffer.concat(chunks, size).toString("utf8"));
      } catch {
        return refuse(res, 400, "The request body is not valid JSON");
      }
      next();
    });
    // An aborted upload: there is nobody left to answer.
    req.on("error", () => (refused = true));
  };
}

const tooLarge = `The request body is larger than ${MAX_BODY_BYTES} bytes`;

/** "application/json" of "Application/JSON; charset=utf-8". */
const mediaType = (contentType: string) => contentType.split(";", 1)[0].trim().toLowerCase();

/** A GraphQL error response; the connection closes after it, so an unread rest of the body is dropped. */
function refuse(res: Response, status: number, message: string): void {
  res.status(status).set("connection", "close").json({ errors: [badInput(message).toJSON()] });
}
