import path from "node:path";
import type { RedisClient } from "../../redis/connections";
import { defineScripts } from "../../redis/lua";
import { InstanceKeys } from "./instance.keys";

/** What one instance last announced of itself. Times are epoch milliseconds. */
export interface InstanceRecord {
  /** Random per start; the instance's presence leases carry it too. */
  id: string;
  hostname: string;
  pid: number;
  version: string;
  startedAt: number;
  /** When the instance wrote this record (its own clock). */
  updatedAt: number;
  /** Open WebSockets, authenticated or not. */
  sockets: number;
  /** Live subscriptions on those sockets. */
  subscriptions: number;
  /** Messages this instance stored per second over its last refresh interval. */
  messagesPerSecond: number;
  /** 99th percentile of the event loop's delay over the last refresh interval. */
  eventLoopDelayMs: number;
  /** CPU time (user and system) over the last refresh interval, in percent of one core. */
  cpuPercent: number;
  rssBytes: number;
}

/** The deployment's totals at one moment (Redis time, epoch ms). */
export interface DeploymentSample {
  at: number;
  instances: number;
  sockets: number;
  subscriptions: number;
  /** Users online (presence), whichever instance holds their sockets. */
  online: number;
  messagesPerSecond: number;
}

/** How many refresh intervals a record outlives its last refresh: a refresh or two may be late without the instance dropping out. */
export const RECORD_TTL_INTERVALS = 3;
/** Trend samples kept: one per refresh interval (5 minutes at the default of 5 s). */
export const TREND_SAMPLES = 60;

/**
 * The instance registry: each instance's record, refreshed every `intervalMs` and gone
 * `RECORD_TTL_INTERVALS` intervals after its last refresh (so a dead instance drops out by
 * itself), and a trend of the deployment's totals, sampled by whichever instance refreshes
 * first in each interval.
 */
export class InstanceStore {
  private readonly keys: InstanceKeys;
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    readonly intervalMs: number,
  ) {
    this.keys = new InstanceKeys(prefix);
    this.scripts = defineScripts(redis, path.join(__dirname, "lua"), ["announce", "list"] as const);
  }

  /** Writes the instance's record; `online` (users online now) goes into the trend sample, if one is due. */
  async announce(record: InstanceRecord, online: number): Promise<void> {
    await this.scripts.announce(this.keys.all, [
      record.id,
      JSON.stringify(record),
      this.intervalMs * RECORD_TTL_INTERVALS,
      this.intervalMs,
      TREND_SAMPLES,
      online,
    ]);
  }

  /** Removes the instance's record (a graceful stop): it drops out at once. */
  async remove(id: string): Promise<void> {
    // Both keys share the {i} slot, so one MULTI works on a cluster too.
    await this.redis.multi().zrem(this.keys.index, id).hdel(this.keys.records, id).exec();
  }

  /** The live instances (by start time) and the trend, oldest sample first. */
  async read(): Promise<{ instances: InstanceRecord[]; trend: DeploymentSample[] }> {
    const [records, samples] = (await this.scripts.list(this.keys.all, [])) as [string[], string[]];
    return {
      instances: records.map((json) => JSON.parse(json) as InstanceRecord).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id)),
      trend: samples.map((json) => JSON.parse(json) as DeploymentSample).reverse(),
    };
  }
}
