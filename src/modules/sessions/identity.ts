import { createPublicKey, type KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify } from "jose";
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

const USER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
// Printable: no control, format (except the zero-width joiner of emoji), surrogate, private or unassigned code points.
const USERNAME = /^(?:[^\p{C}]|\u200D){1,64}$/u;

export function validateUserId(userId: string, field = "userId"): string {
  if (!USER_ID.test(userId)) throw badInput(`${field} must be 1-128 characters of A-Z a-z 0-9 _ . : @ -`, field);
  return userId;
}

export function validateUsername(username: string, field = "username"): string {
  if (!USERNAME.test(username)) throw badInput(`${field} must be 1-64 printable characters`, field);
  return username;
}

export type IdentityVerifier = (proof: LoginProof) => Promise<Identity>;

export function createIdentityVerifier(config: Config): IdentityVerifier {
  if (config.authMode === "dev") {
    return async ({ userId, username }) => {
      if (!userId) throw badInput("userId is required in dev auth mode", "userId");
      validateUserId(userId);
      return { userId, username: validateUsername(username ?? userId) };
    };
  }
  const key: Uint8Array | KeyObject = config.jwtPublicKey
    ? createPublicKey(config.jwtPublicKey.replace(/\\n/g, "\n"))
    : new TextEncoder().encode(config.jwtSecret);
  const algorithms = config.jwtPublicKey ? ["RS256", "ES256"] : ["HS256"];
  return async ({ idToken }) => {
    if (!idToken) throw badInput("idToken is required in jwt auth mode", "idToken");
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(idToken, key, {
        algorithms,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        requiredClaims: ["sub", "exp"],
      }));
    } catch (err) {
      const reason = err instanceof joseErrors.JWTExpired ? "has expired" : "is not valid";
      throw unauthenticated(`idToken ${reason}`);
    }
    const userId = String(claims.sub);
    const name = claims.name ?? claims.preferred_username ?? userId;
    if (!USER_ID.test(userId)) throw badInput("idToken sub must be 1-128 characters of A-Z a-z 0-9 _ . : @ -", "idToken");
    if (typeof name !== "string" || !USERNAME.test(name)) throw badInput("idToken name must be 1-64 printable characters", "idToken");
    return { userId, username: name };
  };
}
