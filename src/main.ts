import "reflect-metadata";
import { startApp } from "./app";
import { ConfigError, loadConfig } from "./config/config";
import { RedisNotInstalledError } from "./redis/embedded";
import { createLogger } from "./server/logger";

/** Longest a graceful stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 60, msg: `invalid configuration: ${err.message}` })}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let app;
  try {
    app = await startApp(config, log);
  } catch (err) {
    if (err instanceof RedisNotInstalledError) log.fatal(err.message);
    else log.fatal({ err }, "could not start");
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, "signal received");
    const force = setTimeout(() => {
      log.error("graceful stop took too long; exiting");
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    force.unref();
    app.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

void main();
