import { backoffDelay } from "../src/backoff";
import { compareMessageIds } from "../src";

describe("reconnect backoff", () => {
  it("waits 0.5 s to 1 s first, doubles, and never waits more than 20 s", () => {
    for (let n = 0; n < 200; n++) {
      expect(backoffDelay(0)).toBeGreaterThanOrEqual(500);
      expect(backoffDelay(0)).toBeLessThanOrEqual(1000);
      expect(backoffDelay(3)).toBeGreaterThanOrEqual(4000);
      expect(backoffDelay(3)).toBeLessThanOrEqual(8000);
      expect(backoffDelay(30)).toBeGreaterThanOrEqual(10_000);
      expect(backoffDelay(30)).toBeLessThanOrEqual(20_000);
    }
  });

  it("is jittered: clients dropped together do not all come back at once", () => {
    expect(new Set(Array.from({ length: 20 }, () => backoffDelay(2))).size).toBeGreaterThan(1);
  });
});

describe("message ids", () => {
  it("compare as the two numbers of a stream id, not as strings", () => {
    expect(compareMessageIds("10-0", "9-5")).toBe(1);
    expect(compareMessageIds("1732470000000-2", "1732470000000-10")).toBe(-1);
    expect(compareMessageIds("1732470000000-3", "1732470000000-3")).toBe(0);
    expect(compareMessageIds("1-0", "0-0")).toBe(1);
  });
});
