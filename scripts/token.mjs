// Prints an idToken (HS256 JWT) that a service in jwt mode accepts at `login(input: { idToken })`:
//   npm run --silent token -- alice [Alice]        # user id, display name (default: the user id)
// It signs for docker-compose.yml's development settings; JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE,
// when set, replace them (set them as for the service; set empty, the claim is left out).
// Node's crypto only, so it runs without `npm ci`.
import { createHmac } from "node:crypto";

// The defaults in docker-compose.yml (test/integration/compose.test.ts checks that they agree).
const COMPOSE_DEFAULTS = {
  JWT_SECRET: "insecure-compose-development-secret-0123456789",
  JWT_ISSUER: "sessionhub-compose",
  JWT_AUDIENCE: "sessionhub",
};
/** How long the idToken may be used to log in; the session it gives lasts as configured. */
const LIFETIME_S = 3600;

const [userId, name = userId] = process.argv.slice(2);
if (!userId) {
  console.error("usage: npm run --silent token -- <userId> [name]");
  process.exit(2);
}
// As compose reads `${JWT_SECRET-default}`: unset gives the default, empty means none.
const setting = (variable) => process.env[variable] ?? COMPOSE_DEFAULTS[variable];
const secret = setting("JWT_SECRET");
if (!secret) {
  console.error("token: JWT_SECRET is empty; this script signs HS256 tokens only");
  process.exit(2);
}
const now = Math.floor(Date.now() / 1000);
const claims = {
  sub: userId,
  name,
  iat: now,
  exp: now + LIFETIME_S,
  ...(setting("JWT_ISSUER") && { iss: setting("JWT_ISSUER") }),
  ...(setting("JWT_AUDIENCE") && { aud: setting("JWT_AUDIENCE") }),
};
const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
console.log(`${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`);
