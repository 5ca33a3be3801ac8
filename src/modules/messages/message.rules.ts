import { badInput } from "../../errors/errors";
import { validateUserId } from "../sessions/identity";

/** Most messages one `messages` page returns. */
export const MAX_PAGE_SIZE = 200;
/** Longest clientMessageId accepted (characters). */
export const MAX_CLIENT_MESSAGE_ID = 128;
/** Most recipients of one pushMessage. */
export const MAX_PUSH_RECIPIENTS = 1000;
/** Who a pushMessage is from unless the caller names someone. */
export const PUSH_DEFAULT_FROM = "system";

/**
 * Message ids are the inbox stream's ids, "<ms>-<seq>" with two unsigned 64-bit integers; they
 * increase per recipient, so they order messages and serve as cursors.
 */
const MESSAGE_ID = /^(\d{1,20})-(\d{1,20})$/;
const MAX_U64 = 2n ** 64n - 1n;

interface StreamId {
  ms: bigint;
  seq: bigint;
}

function parse(id: string): StreamId | null {
  const m = MESSAGE_ID.exec(id);
  if (!m) return null;
  const ms = BigInt(m[1]);
  const seq = BigInt(m[2]);
  return ms > MAX_U64 || seq > MAX_U64 ? null : { ms, seq };
}

const format = ({ ms, seq }: StreamId) => `${ms}-${seq}`;

/** <0, 0 or >0 as message id a is before, equal to or after b (both valid ids). */
export function compareIds(a: string, b: string): number {
  const x = parse(a)!;
  const y = parse(b)!;
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  return x.seq === y.seq ? 0 : x.seq < y.seq ? -1 : 1;
}

/** The smallest id after `id` (an inclusive range start), or null when `id` is the largest possible. */
export function idAfter(id: string): string | null {
  const { ms, seq } = parse(id)!;
  if (seq < MAX_U64) return format({ ms, seq: seq + 1n });
  return ms < MAX_U64 ? format({ ms: ms + 1n, seq: 0n }) : null;
}

/** The largest id before `id` ("0-0" for "0-0"): `idAfter(idBefore(id))` is `id`. */
export function idBefore(id: string): string {
  const { ms, seq } = parse(id)!;
  if (seq > 0n) return format({ ms, seq: seq - 1n });
  return ms > 0n ? format({ ms: ms - 1n, seq: MAX_U64 }) : "0-0";
}

/** The id in canonical form (no leading zeros), or BAD_USER_INPUT. */
export function validateMessageId(id: string, field: string): string {
  const parsed = parse(id);
  if (!parsed) throw badInput(`${field} must be a message id such as 1732470000000-0`, field);
  return format(parsed);
}

export interface MessageInput {
  to: string;
  body: string;
  clientMessageId: string | null;
}

/** Checks sendMessage's arguments; BAD_USER_INPUT names the first wrong one. */
export function validateMessageInput<T extends MessageInput>(input: T, maxBodyBytes: number): T {
  validateUserId(input.to, "to");
  // A lone surrogate cannot be encoded as UTF-8 (it would be stored as U+FFFD, changing the text).
  if (/\p{Cs}/u.test(input.body)) throw badInput("body must be valid Unicode text", "body");
  const bytes = Buffer.byteLength(input.body, "utf8");
  if (bytes < 1 || bytes > maxBodyBytes) throw badInput(`body must be 1 to ${maxBodyBytes} bytes of UTF-8`, "body");
  const id = input.clientMessageId;
  if (id !== null && (id.length < 1 || id.length > MAX_CLIENT_MESSAGE_ID || /\p{Cs}/u.test(id))) {
    throw badInput(`clientMessageId must be 1 to ${MAX_CLIENT_MESSAGE_ID} characters of valid Unicode`, "clientMessageId");
  }
  return input;
}

/** `first` of the messages query: 1 to MAX_PAGE_SIZE. */
export function validatePageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`first must be from 1 to ${MAX_PAGE_SIZE}`, "first");
  }
  return first;
}

/** pushMessage's recipients: 1 to MAX_PUSH_RECIPIENTS distinct valid user ids. */
export function validatePushRecipients(to: readonly string[]): string[] {
  if (to.length < 1 || to.length > MAX_PUSH_RECIPIENTS) throw badInput(`to must list 1 to ${MAX_PUSH_RECIPIENTS} users`, "to");
  to.forEach((userId) => validateUserId(userId, "to"));
  if (new Set(to).size !== to.length) throw badInput("to must not list a user twice", "to");
  return [...to];
}
