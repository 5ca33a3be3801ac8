/**
 * Redis keys of the instance registry. Every key carries the one hash tag `{i}`, so the script
 * that writes an instance's record and the deployment's trend sample runs in one cluster slot
 * (the registry is a few small keys, written every few seconds by each instance).
 */
export class InstanceKeys {
  private readonly base: string;

  constructor(prefix: string) {
    this.base = `${prefix}instances:{i}:`;
  }

  /** zset instanceId -> when its record expires (ms, Redis time): records older than that are gone. */
  get index(): string {
    return `${this.base}index`;
  }

  /** hash instanceId -> the instance's last record (JSON: InstanceRecord). */
  get records(): string {
    return `${this.base}records`;
  }

  /** list of the deployment's totals (JSON: DeploymentSample), newest first, at most one per refresh interval. */
  get trend(): string {
    return `${this.base}trend`;
  }

  /** Every key above, in the order of the scripts' KEYS headers. */
  get all(): string[] {
    return [this.index, this.records, this.trend];
  }
}
