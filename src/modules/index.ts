import { SessionResolver } from "./sessions/session.resolver";

/** Every domain's resolvers; the schema is built from these. */
export const resolvers = [SessionResolver] as const;
