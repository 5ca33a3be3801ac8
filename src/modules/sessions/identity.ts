import { createPublicKey, type KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { Config } from "../../config/config";
import { badInput, unauthenticated } from "../../errors/errors";

/** Who is logging in, as proven by the configured auth mode. */
export interface Identity {
  userId: string;
  username: string;
}

export interface LoginProof {
  userId?: string | null;
  username?: string | null;
  idToken?: string | null;
}

// No braces: user ids go inside `{userId}` hash tags. `|` is allowed for issuers such as Auth0 ("auth0|123").
const USER_ID = /^[A-Za-z0-9_.:@|-]{1,128}$/;
// Printable: no control, format (except the zero-width joiner of emoji), surrogate, private or unassigned code points.
const USERNAME = /^(?:[^\p{C}]|\u200D){1,64}$/u;
/** Clock skew tolerated between the token issuer and this service when checking exp and nbf. */
const CLOCK_TOLERANCE_S = 5;

export function validateUserId(userId: string, field = "userId"): string {
  if (!USER_ID.test(userId)) throw badInput(`${field} must be 1-128 characters of A-Z a-z 0-9 _ . : @ | -`, field);
  return userId;
}

export function validateUsername(username: string, field = "username"): string {
  if (!USERNAME.test(username)) throw badInput(`${field} must be 1-64 printable characters`, field);
  return username;
}

export type IdentityVerifier = (proof: LoginProof) => Promise<Identity>;

/** The verification key and its one accepted algorithm (never chosen by the token's header). */
export interface JwtKey {
  key: Uint8Array | KeyObject;
  algorithm: "HS256" | "RS256" | "ES256";
}

/**
 * The key JWTs are checked with: JWT_PUBLIC_KEY (RSA -> RS256, EC P-256 -> ES256) or JWT_SECRET
 * (HS256). Throws an Error describing what is wrong; config.ts reports it as a ConfigError.
 */
export function jwtKeyOf(settings: { jwtSecret?: string; jwtPublicKey?: string }): JwtKey {
  if (settings.jwtPublicKey) {
    // Environments often carry a PEM on one line with literal "\n".
    const key = createPublicKey(settings.jwtPublicKey.replace(/\\n/g, "\n"));
    if (key.asymmetricKeyType === "rsa") return { key, algorithm: "RS256" };
    if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return { key, algorithm: "ES256" };
    throw new Error("the key is neither RSA nor EC P-256");
  }
  if (settings.jwtSecret) return { key: new TextEncoder().encode(settings.jwtSecret), algorithm: "HS256" };
  throw new Error("no key configured");
}

/** `name`, else `preferred_username`, else the user id: the first that is a valid username. */
function usernameOf(claims: JWTPayload, userId: string): string {
  for (const candidate of [claims.name, claims.preferred_username]) {
    if (typeof candidate === "string" && USERNAME.test(candidate)) return candidate;
  }
  return [...userId].slice(0, 64).join("");
}

export function createIdentityVerifier(config: Config): IdentityVerifier {
  if (config.authMode === "dev") {
    return async ({ userId, username }) => {
      if (!userId) throw badInput("userId is required in dev auth mode", "userId");
      validateUserId(userId);
      return { userId, username: validateUsername(username ?? userId) };
    };
  }
  const { key, algorithm } = jwtKeyOf(config);
  // jwt mode: only the signed token counts; userId and username of the input are ignored.
  return async ({ idToken }) => {
    if (!idToken) throw badInput("idToken is required in jwt auth mode", "idToken");
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(idToken, key, {
        algorithms: [algorithm],
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        requiredClaims: ["sub", "exp"],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated("idToken has expired");
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw unauthenticated(`idToken has a missing or unexpected ${err.claim} claim`);
      throw unauthenticated("idToken is not valid");
    }
    const userId = claims.sub;
    if (typeof userId !== "string" || !USER_ID.test(userId)) {
      throw badInput("idToken sub must be 1-128 characters of A-Z a-z 0-9 _ . : @ | -", "idToken");
    }
    return { userId, username: usernameOf(claims, userId) };
  };
}
