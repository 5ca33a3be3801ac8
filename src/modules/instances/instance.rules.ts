import type { DeploymentSample, InstanceRecord } from "./instance.store";

/** The deployment's totals from the instances' records (as lua/announce.lua sums them for the trend). */
export function totalsOf(records: readonly InstanceRecord[], online: number, at: number): DeploymentSample {
  const sum = (field: "sockets" | "subscriptions" | "messagesPerSecond") => records.reduce((total, r) => total + r[field], 0);
  return {
    at,
    instances: records.length,
    sockets: sum("sockets"),
    subscriptions: sum("subscriptions"),
    online,
    messagesPerSecond: Math.round(sum("messagesPerSecond") * 100) / 100,
  };
}
