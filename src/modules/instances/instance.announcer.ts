import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { InstanceRecord, InstanceStore } from "./instance.store";

/** What the instance holds, read at each refresh. */
export interface InstanceLoadSource {
  /** Open WebSockets of this instance. */
  sockets(): number;
  /** Live subscriptions of this instance. */
  subscriptions(): number;
  /** Messages this instance has stored since it started (only ever grows). */
  messagesStored(): number;
  /** Users online in the whole deployment, for the trend. */
  onlineCount(): Promise<number>;
}

/** The event-loop delay is sampled by a timer of this period; the histogram's values include it. */
const LOOP_RESOLUTION_MS = 10;

/** package.json's version: it sits three folders above this file in src/ and in dist/ alike. */
const VERSION = (JSON.parse(readFileSync(path.join(__dirname, "..", "..", "..", "package.json"), "utf8")) as { version: string }).version;

/**
 * Announces this instance in the registry: at start, then every refresh interval (its open
 * sockets, subscriptions and load over the interval), and removes its record on a graceful stop.
 * An instance that dies stops refreshing, and its record expires (InstanceStore).
 */
export class InstanceAnnouncer {
  private readonly startedAt = Date.now();
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  /** The previous refresh: rates and CPU are measured from it. */
  private last = { at: performance.now(), cpu: process.cpuUsage(), messages: 0 };
  private timer?: NodeJS.Timeout;
  /** The refresh in progress, if any (refreshes never overlap; stop waits for it). */
  private ticking?: Promise<void>;

  constructor(
    private readonly store: InstanceStore,
    private readonly id: string,
    private readonly source: InstanceLoadSource,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.loopDelay.enable();
    await this.tick();
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.store.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    this.loopDelay.disable();
    try {
      await this.store.remove(this.id);
    } catch (err) {
      this.log.warn({ err }, "instance record not removed; it expires by itself");
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.store.announce(this.measure(), await this.source.onlineCount());
    } catch (err) {
      this.log.warn({ err }, "instance record not refreshed");
    }
  }

  /** This instance's record now, with the rates since the previous refresh. */
  private measure(): InstanceRecord {
    const now = { at: performance.now(), cpu: process.cpuUsage(), messages: this.source.messagesStored() };
    const seconds = Math.max(0.001, (now.at - this.last.at) / 1000);
    const cpu = process.cpuUsage(this.last.cpu);
    const delayMs = this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS : 0;
    this.loopDelay.reset();
    const messages = now.messages - this.last.messages;
    this.last = now;
    return {
      id: this.id,
      hostname: hostname(),
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt,
      updatedAt: Date.now(),
      sockets: this.source.sockets(),
      subscriptions: this.source.subscriptions(),
      messagesPerSecond: round(messages / seconds),
      eventLoopDelayMs: round(Math.max(0, delayMs)),
      cpuPercent: round(((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100),
      rssBytes: process.memoryUsage.rss(),
    };
  }
}

/** Two decimals: enough for a dashboard, and short in JSON. */
const round = (n: number) => Math.round(n * 100) / 100;
