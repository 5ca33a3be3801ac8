import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { ConnectionRegistry, LiveSocket } from "../../server/connections";
import type { Metrics } from "../../server/metrics";
import { PresenceStore } from "./presence.store";

/**
 * Mirrors this instance's authenticated sockets into presence: a socket that opens takes a
 * lease, one that closes gives it back, and every `intervalMs` one batched call extends all
 * leases of this instance and one sweep removes what expired anywhere (instances that died
 * without a goodbye). On a graceful stop the remaining leases are shortened to `restartGraceMs`,
 * so users who reconnect to another instance within it never flap (no OFFLINE then ONLINE), and a
 * sweep takes the others offline after it; with no grace they go at once, with their OFFLINE events.
 */
export class PresenceTracker {
  /** Random per instance: names this instance's leases, so a restart never adopts old ones. */
  readonly instanceId = randomBytes(8).toString("hex");
  /** Lease member and user by socket id, for the sockets whose lease this instance holds. */
  private readonly leases = new Map<string, { member: string; userId: string }>();
  /** The pending Redis call of each socket, so a close never overtakes its open. */
  private readonly pending = new Map<string, Promise<unknown>>();
  /** Whether each socket that opened got its lease (see `admitted`); weak, so nothing need remove them. */
  private readonly admissions = new WeakMap<LiveSocket, Promise<boolean>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** The tick in progress, if any (ticks never overlap; stop waits for it). */
  private ticking?: Promise<void>;

  constructor(
    private readonly store: PresenceStore,
    private readonly registry: ConnectionRegistry,
    private readonly options: {
      /** How often leases are extended and expired ones swept. */
      intervalMs: number;
      /** SOCKET_MAX_PER_USER: a socket beyond it gets no lease and must close (see `admitted`). */
      maxSocketsPerUser: number;
      /** PRESENCE_RESTART_GRACE: how long the leases of a graceful stop last; 0: removed at once. */
      restartGraceMs: number;
    },
    private readonly log: Logger,
    /** Counts the transitions this instance's calls decided (each is decided by exactly one script run). */
    private readonly metrics: Metrics,
  ) {}

  private readonly onOpen = (live: LiveSocket) => {
    if (this.stopped) return;
    const member = PresenceStore.leaseMember(this.instanceId, live.id, live.userId);
    this.leases.set(live.id, { member, userId: live.userId });
    const taken = this.track(live.id, async () => {
      const { admitted, cameOnline } = await this.store.connect(member, live.userId, this.options.maxSocketsPerUser);
      if (cameOnline) this.metrics.presenceTransitions.online.inc();
      if (!admitted) this.leases.delete(live.id);
      return admitted;
    });
    // A lease Redis could not be asked for is taken again by the next refresh: the socket stays.
    this.admissions.set(live, taken.then((ok) => ok !== false));
  };

  /**
   * Resolves once the lease of a socket that just opened is decided: false when its user already
   * has SOCKET_MAX_PER_USER sockets on all instances, and the caller must close it (nothing of it
   * is stored).
   */
  admitted(live: LiveSocket): Promise<boolean> {
    return this.admissions.get(live) ?? Promise.resolve(true);
  }

  private readonly onClose = (live: LiveSocket) => {
    const lease = this.leases.get(live.id);
    // After stop the goodbye has handed every lease over (shortened or removed): a late close leaves it be.
    if (this.stopped || lease === undefined) return;
    this.leases.delete(live.id);
    this.track(live.id, async () => this.wentOffline(await this.store.disconnect([lease.member])));
  };

  async start(): Promise<void> {
    this.registry.on("open", this.onOpen);
    this.registry.on("close", this.onClose);
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** The goodbye: call it before this instance closes its sockets, so their closes leave the leases to it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.registry.off("open", this.onOpen);
    this.registry.off("close", this.onClose);
    await Promise.allSettled([this.ticking, ...this.pending.values()]);
    const members = [...this.leases.values()].map((l) => l.member);
    this.leases.clear();
    try {
      if (this.options.restartGraceMs > 0) await this.store.shorten(members, this.options.restartGraceMs);
      else this.wentOffline(await this.store.disconnect(members));
    } catch (err) {
      // The leases then expire and a surviving instance's sweep takes these users offline.
      this.log.warn({ err, sockets: members.length }, "presence goodbye failed; leases will expire");
    }
  }

  /** One batched refresh of this instance's leases, then one sweep of what expired anywhere. */
  private async tick(): Promise<void> {
    try {
      const missing = new Set(await this.store.refresh([...this.leases.values()].map((l) => l.member)));
      if (this.stopped) return; // the goodbye hands every lease over; taking one again would race it
      // A lease a sweep took while this instance was stalled: the socket is still open, so take it
      // again, whatever the user's socket count is now (it was admitted once).
      for (const [socketId, { member, userId }] of this.leases) {
        if (missing.has(member)) {
          this.track(socketId, async () => {
            if ((await this.store.connect(member, userId)).cameOnline) this.metrics.presenceTransitions.online.inc();
          });
        }
      }
      this.wentOffline(await this.store.sweep());
    } catch (err) {
      this.log.warn({ err }, "presence refresh or sweep could not reach Redis");
    }
  }

  private wentOffline(users: number): void {
    if (users > 0) this.metrics.presenceTransitions.offline.inc(users);
  }

  /** Chains a Redis call after the socket's previous one; failures are logged, never thrown (undefined). */
  private track<T>(socketId: string, call: () => Promise<T>): Promise<T | undefined> {
    const previous = this.pending.get(socketId) ?? Promise.resolve();
    const next = previous
      .then(call)
      .catch((err: unknown) => void this.log.warn({ err }, "presence update could not reach Redis"))
      .finally(() => {
        if (this.pending.get(socketId) === next) this.pending.delete(socketId);
      });
    this.pending.set(socketId, next);
    return next;
  }
}
