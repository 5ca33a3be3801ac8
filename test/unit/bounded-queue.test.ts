import { BoundedQueue } from "../../src/redis/bounded-queue";

describe("BoundedQueue", () => {
  it("delivers pushed values in order, to a waiting consumer too", async () => {
    const queue = new BoundedQueue<number>(10, () => undefined);
    const waiting = queue.next();
    queue.push(1);
    queue.push(2);
    expect(await waiting).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
  });

  it("keeps at most `limit` undelivered values, dropping the oldest", async () => {
    const queue = new BoundedQueue<number>(3, () => undefined);
    for (let i = 1; i <= 5; i++) queue.push(i);
    const got = [await queue.next(), await queue.next(), await queue.next()].map((r) => r.value);
    expect(got).toEqual([3, 4, 5]);
  });

  it("return ends the iteration, releases a waiting consumer and calls onReturn once", async () => {
    const onReturn = jest.fn();
    const queue = new BoundedQueue<number>(3, onReturn);
    const waiting = queue.next();
    await queue.return();
    await queue.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    queue.push(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(onReturn).toHaveBeenCalledTimes(1);
  });

  it("fail rejects the waiting consumer, or the next call, and ends the iteration", async () => {
    const waitingQueue = new BoundedQueue<number>(3, () => undefined);
    const waiting = waitingQueue.next();
    waitingQueue.fail(new Error("no subscription"));
    await expect(waiting).rejects.toThrow("no subscription");

    const onReturn = jest.fn();
    const later = new BoundedQueue<number>(3, onReturn);
    later.fail(new Error("no subscription"));
    await expect(later.next()).rejects.toThrow("no subscription");
    expect(await later.next()).toEqual({ value: undefined, done: true });
    expect(onReturn).toHaveBeenCalledTimes(1);
  });
});
