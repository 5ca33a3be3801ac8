import "reflect-metadata";
import type { Logger } from "pino";
import { startApp, type App } from "./app";
import { ConfigError, loadConfig, type Config } from "./config/config";
import { StartupError } from "./errors/startup";
import { createLogger, routeConsoleTo } from "./server/logger";

/** Longest a graceful stop may take, after SHUTDOWN_DELAY, before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

/** Reads the configuration, or exits 1 with one JSON line naming the bad variable. */
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), service: "sessionhub", msg: `invalid configuration: ${err.message}` })}\n`);
    process.exit(1);
  }
}

/**
 * Starts the service and stops it gracefully on SIGTERM or SIGINT (exit 0; exit 1 if stopping
 * fails or takes over SHUTDOWN_DELAY + STOP_TIMEOUT_MS). A signal during startup stops the service as soon as it is up.
 */
async function main(): Promise<void> {
  const config = configOrExit();
  const log = createLogger(config.logLevel);
  routeConsoleTo(log);
  let app: App | undefined;
  let stopRequested = false;

  const stop = () => {
    const force = setTimeout(() => {
      log.error("graceful stop took too long; exiting");
      process.exit(1);
    }, config.shutdownDelayMs + STOP_TIMEOUT_MS);
    force.unref();
    app!.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) return; // already stopping; the timeout above bounds it
    stopRequested = true;
    log.info({ signal }, "signal received");
    if (app) stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  logProcessFaults(log);

  try {
    app = await startApp(config, log);
  } catch (err) {
    // A StartupError's message says it all (what failed, what to do): no stack.
    if (err instanceof StartupError) log.fatal(err.fields, err.message);
    else log.fatal({ err }, "could not start");
    process.exit(1);
  }
  if (stopRequested) stop();
}

/** Logs a stray rejection and survives it (a Redis blip must not kill the service); logs an uncaught exception and exits 1. */
function logProcessFaults(log: Logger): void {
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception; exiting");
    process.exit(1);
  });
}

void main();
