import { CloseCode } from "graphql-ws";
import type { Logger } from "pino";
import { retryDelayMs, type AppPubSub } from "../../redis/pubsub";
import type { ConnectionRegistry } from "../../server/connections";
import type { Metrics } from "../../server/metrics";
import { Topic } from "../topics";
import type { EndedSession, SessionRecord, SessionStore } from "./session.store";

/**
 * Cuts ended sessions off this instance's sockets (and what it remembers of them): at once when
 * any instance announces the end (SessionEnded), and on a periodic check that also finds
 * sessions that expired. The check touches each session with an open socket, so a connected
 * client keeps its session alive until its absolute lifetime ends. While the pub/sub connection
 * is down no announcement can arrive: the instance then trusts no session it read, and once the
 * connection is back it reads every session it holds sockets of at once.
 */
export class SessionWatcher {
  private timer?: NodeJS.Timeout;
  private unlisten: (() => void)[] = [];

  constructor(
    private readonly store: SessionStore,
    private readonly registry: ConnectionRegistry,
    private readonly pubSub: AppPubSub,
    private readonly checkIntervalMs: number,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  async start(): Promise<void> {
    this.unlisten.push(this.pubSub.gaps.onLost(() => this.store.suspendTrust()));
    const onEnded = ({ sessionId }: EndedSession) => {
      this.store.forget(sessionId);
      this.registry.closeSession(sessionId, CloseCode.Unauthorized, "Session ended");
    };
    this.unlisten.push(
      await this.pubSub.listen(Topic.SessionEnded, undefined, {
        onMessage: onEnded,
        onResumed: () => {
          this.store.resumeTrust();
          void this.recheck();
        },
      }),
    );
    this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unlisten.forEach((stop) => stop());
    this.unlisten = [];
  }

  /** Announces ended sessions to every instance (this one included). */
  async announce(ended: EndedSession[]): Promise<void> {
    await Promise.all(ended.map((e) => this.pubSub.publish(Topic.SessionEnded, undefined, e)));
  }

  /** The periodic check: touches each session held here; closes the sockets of those that ended. */
  async check(): Promise<void> {
    const { ended, failed } = await this.closeEnded((s) => this.store.touch(s.userId, s.sessionId), "Session expired");
    // Ends announced were heard at once (their sockets are closed): what is left here expired.
    this.metrics.sessionEnds.expired.inc(ended);
    if (failed > 0) this.log.warn({ failed }, "session check could not reach Redis");
  }

  /**
   * After a gap in the pub/sub connection: reads every session held here (their reads leave in
   * one write) and closes the sockets of those that ended; read again, while Redis is not back
   * for commands, until every session was read.
   */
  async recheck(attempt = 0): Promise<void> {
    const { failed } = await this.closeEnded((s) => this.store.get(s.userId, s.sessionId), "Session ended");
    if (failed === 0) return;
    await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
    if (this.timer) return this.recheck(attempt + 1);
  }

  /** Reads each session held here; closes the sockets of the ended ones; returns how many had ended and how many reads failed. */
  private async closeEnded(
    read: (s: { userId: string; sessionId: string }) => Promise<SessionRecord | null>,
    reason: string,
  ): Promise<{ ended: number; failed: number }> {
    const sessions = this.registry.sessions();
    const results = await Promise.allSettled(sessions.map(read));
    let ended = 0;
    results.forEach((result, i) => {
      if (result.status !== "fulfilled" || result.value !== null) return;
      ended++;
      this.registry.closeSession(sessions[i].sessionId, CloseCode.Unauthorized, reason);
    });
    return { ended, failed: results.filter((r) => r.status === "rejected").length };
  }
}
