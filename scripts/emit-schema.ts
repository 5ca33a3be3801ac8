// Writes schema/schema.graphql: the SDL type-graphql emits from the resolvers. No Redis needed.
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { AppPubSub } from "../src/redis/pubsub";
import { createSchema, printSdl } from "../src/server/schema";

const unusedPubSub = {} as AppPubSub;

void createSchema(unusedPubSub).then((schema) => {
  const file = path.join(__dirname, "..", "schema", "schema.graphql");
  writeFileSync(file, printSdl(schema));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
});
