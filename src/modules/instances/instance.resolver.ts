import { Ctx, Query, Resolver } from "type-graphql";
import type { AppContext } from "../../server/context";
import { totalsOf } from "./instance.rules";
import { Deployment, DeploymentSample, ServiceInstance } from "./instance.type";

@Resolver()
export class InstanceResolver {
  @Query(() => Deployment, { description: "Admin (x-api-key): the running instances, the deployment's totals and their trend." })
  async deployment(@Ctx() ctx: AppContext): Promise<Deployment> {
    ctx.requireAdmin();
    const { instances, presence, presenceTracker } = ctx.services;
    const [{ instances: records, trend }, { count }] = await Promise.all([instances.read(), presence.online(0, null)]);
    return Object.assign(new Deployment(), {
      // The answering instance's id is the one its presence leases carry (and its announcer uses).
      instances: records.map((r) => ServiceInstance.from(r, presenceTracker.instanceId)),
      totals: DeploymentSample.from(totalsOf(records, count, Date.now())),
      trend: trend.map(DeploymentSample.from),
      refreshIntervalMs: instances.intervalMs,
    });
  }
}
