import { CloseCode } from "graphql-ws";
import type { Logger } from "pino";
import type { AppPubSub } from "../../redis/pubsub";
import type { ConnectionRegistry } from "../../server/connections";
import { Topic } from "../topics";
import type { EndedSession, SessionStore } from "./session.store";

/**
 * Cuts ended sessions off this instance's sockets (and what it remembers of them): at once when
 * any instance announces the end (SessionEnded), and on a periodic check that also finds
 * sessions that expired. The check touches each session with an open socket, so a connected
 * client keeps its session alive until its absolute lifetime ends.
 */
export class SessionWatcher {
  private timer?: NodeJS.Timeout;
  private unlisten?: () => void;

  constructor(
    private readonly store: SessionStore,
    private readonly registry: ConnectionRegistry,
    private readonly pubSub: AppPubSub,
    private readonly checkIntervalMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.pubSub.listen(Topic.SessionEnded, undefined, ({ sessionId }) => {
      this.store.forget(sessionId);
      this.registry.closeSession(sessionId, CloseCode.Unauthorized, "Session ended");
    });
    this.timer = setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unlisten?.();
  }

  /** Announces ended sessions to every instance (this one included). */
  async announce(ended: EndedSession[]): Promise<void> {
    await Promise.all(ended.map((e) => this.pubSub.publish(Topic.SessionEnded, undefined, e)));
  }

  async check(): Promise<void> {
    const sessions = this.registry.sessions();
    const results = await Promise.allSettled(sessions.map((s) => this.store.touch(s.userId, s.sessionId)));
    results.forEach((result, i) => {
      if (result.status === "fulfilled" && result.value === null) {
        this.registry.closeSession(sessions[i].sessionId, CloseCode.Unauthorized, "Session expired");
      }
    });
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) this.log.warn({ failed }, "session check could not reach Redis");
  }
}
