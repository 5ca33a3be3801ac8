import { randomBytes } from "node:crypto";
import pino from "pino";
import { startApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config/config";

export const ADMIN_KEY = "test-admin-key-0123456789";

/**
 * Starts a service instance in this process on a free port. Every call gets its own key prefix
 * unless `KEY_PREFIX` is given, so tests on one Redis never see each other's keys; give two
 * instances the same prefix to make them one service (useService in ./suite does).
 */
export async function startTestApp(env: Record<string, string>): Promise<App> {
  const config = loadConfig({
    PORT: "0",
    KEY_PREFIX: `t${randomBytes(4).toString("hex")}:`,
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: "silent",
    ...env,
  });
  return startApp(config, pino({ level: config.logLevel }));
}
