/** Topic.MessageReceived: one inbox message, as the send script publishes it (cjson) on MessageKeys.channel. */
export interface MessageReceivedPayload {
  /** Stream id, e.g. "1732470000000-0": increasing per recipient. */
  id: string;
  from: string;
  fromUsername: string;
  to: string;
  body: string;
  /** Epoch ms (Redis server time: the stream id's time part) */
  sentAt: number;
  /** Absent when the sender gave none. */
  clientMessageId?: string;
}
