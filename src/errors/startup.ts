/**
 * A start that cannot go on, for a reason its message gives in full (what is wrong and what to
 * do): main.ts logs the message and `fields` as one line, without a stack, and exits 1.
 */
export class StartupError extends Error {
  override name = "StartupError";
  constructor(
    message: string,
    /** Log fields that name what failed, e.g. the variable and the address. */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
