import { setFlagsFromString } from "node:v8";

/*
 * No allocation-site pretenuring. V8 may allocate an allocation site's objects in the old
 * generation once most of them survived a young-generation GC. Request objects allocated there
 * die at once, but an old object's references keep young objects alive through every young GC
 * until the next mark-compact. Measured under the message load without this flag: in one run of
 * five to two of three, whole requests were promoted (about 0.9 MB per young GC instead of 0.1,
 * twice the young pauses, several mark-compacts, message p99 4-5 ms instead of 2-3); with it, in
 * none of 22 runs. Imported first by main.ts, before anything allocates for requests.
 */
setFlagsFromString("--no-allocation-site-pretenuring");
