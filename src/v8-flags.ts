import { setFlagsFromString } from "node:v8";

/*
 * No allocation-site pretenuring. V8 moves an allocation site to the old generation when most of
 * its objects survived a young-generation GC. For a server whose objects live for one request,
 * that decision is taken on a burst (a pause, a backlog) and then hurts: the pretenured objects die
 * at once, but as old objects they keep what they point to alive through every young GC until
 * the next mark-compact. Measured under the message load: about one run in three then promoted
 * whole requests (about 0.9 MB per young GC instead of 0.1, twice the young pauses, several
 * mark-compacts, message p99 4-5 ms instead of 2-3); with this flag none of 17 runs did. Imported
 * first by main.ts, before anything allocates for requests.
 */
setFlagsFromString("--no-allocation-site-pretenuring");
