import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { DeploymentSample as SampleRecord, InstanceRecord } from "./instance.store";

@ObjectType({ description: "One running instance of the service, as it last announced itself.", simpleResolvers: true })
export class ServiceInstance {
  @Field(() => ID, { description: "Random per start." })
  id!: string;

  @Field()
  hostname!: string;

  @Field(() => Int)
  pid!: number;

  @Field({ description: "The service's version (package.json)." })
  version!: string;

  @Field()
  startedAt!: Date;

  @Field({ description: "When the instance last refreshed its record (every INSTANCE_REFRESH_INTERVAL)." })
  updatedAt!: Date;

  @Field(() => Int, { description: "Open WebSockets." })
  sockets!: number;

  @Field(() => Int, { description: "Live subscriptions." })
  subscriptions!: number;

  @Field(() => Float, { description: "Messages this instance stored per second over its last refresh interval." })
  messagesPerSecond!: number;

  @Field(() => Float, { description: "99th percentile of the event loop's delay over the last refresh interval, in milliseconds." })
  eventLoopDelayMs!: number;

  @Field(() => Float, { description: "CPU time over the last refresh interval, in percent of one core." })
  cpuPercent!: number;

  @Field(() => Float, { description: "Resident memory in bytes." })
  rssBytes!: number;

  @Field({ description: "True for the instance that answered this request." })
  current!: boolean;

  static from(record: InstanceRecord, currentId: string): ServiceInstance {
    return Object.assign(new ServiceInstance(), {
      ...record,
      startedAt: new Date(record.startedAt),
      updatedAt: new Date(record.updatedAt),
      current: record.id === currentId,
    });
  }
}

@ObjectType({ description: "The deployment's totals at one moment.", simpleResolvers: true })
export class DeploymentSample {
  @Field()
  at!: Date;

  @Field(() => Int)
  instances!: number;

  @Field(() => Int, { description: "Open WebSockets on all instances." })
  sockets!: number;

  @Field(() => Int, { description: "Live subscriptions on all instances." })
  subscriptions!: number;

  @Field(() => Int, { description: "Users online." })
  online!: number;

  @Field(() => Float, { description: "Messages stored per second by all instances." })
  messagesPerSecond!: number;

  static from(sample: SampleRecord): DeploymentSample {
    return Object.assign(new DeploymentSample(), { ...sample, at: new Date(sample.at) });
  }
}

@ObjectType({ description: "The instances of this deployment (all on one Redis and key prefix), their totals and the totals' trend.", simpleResolvers: true })
export class Deployment {
  @Field(() => [ServiceInstance], { description: "Instances whose record has not expired, by start time." })
  instances!: ServiceInstance[];

  @Field(() => DeploymentSample, { description: "The totals now: the instances' last records, and the users online now." })
  totals!: DeploymentSample;

  @Field(() => [DeploymentSample], { description: "The totals once per refresh interval, oldest first: the last 60 intervals." })
  trend!: DeploymentSample[];

  @Field(() => Int, { description: "INSTANCE_REFRESH_INTERVAL of the instance that answered, in milliseconds." })
  refreshIntervalMs!: number;
}
