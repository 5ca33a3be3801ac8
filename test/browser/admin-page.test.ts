import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ADMIN_KEY } from "../helpers/app";
import { collect, gql, login, openSocket, waitFor } from "../helpers/client";
import { useService } from "../helpers/suite";

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). playwright-core downloads no browser. */
const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = path.join(__dirname, "..", "..", "docs", "admin.png");
const SEND = "mutation ($to: ID!, $body: String!) { sendMessage(to: $to, body: $body) { id } }";

describe("the admin page in headless Chromium", () => {
  // Rate limits out of the way: the test sends messages until the page shows a message rate.
  const env = { INSTANCE_REFRESH_INTERVAL: "250ms", RATE_LIMIT_SEND_MESSAGE: "100000/1m", RATE_LIMIT_SEND_MESSAGE_PER_RECIPIENT: "100000/1m" };
  const { apps: [a, b] } = useService({ instances: 2, env });
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (CI's .ci/run does)`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // The sandbox cannot start as root; background networking is off, as the network is closed.
      args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-background-networking", "--disable-component-update"],
    });
  });
  afterAll(async () => browser?.close());

  /** The page's text content of one element, once `predicate` holds for it. */
  const textWhen = (page: Page, selector: string, predicate: string) =>
    page.waitForFunction(([s, p]) => new RegExp(p).test(document.querySelector(s)?.textContent ?? ""), [selector, predicate] as const);

  it("an operator signs in with the key, finds a user and revokes one session: its socket on the other instance closes with 4401", async () => {
    const origin = new URL(a.url).origin;
    const phone = await login(a.url, "alice", "Alice", { "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1" });
    const laptop = await login(b.url, "alice", "Alice", { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36" });
    const bob = await login(a.url, "bob", "Bob");
    // The page talks to a; the revoked session's socket is on b.
    const revoked = openSocket(b.url, phone.token);
    const kept = openSocket(a.url, laptop.token);
    const bobSocket = openSocket(b.url, bob.token);
    await Promise.all([revoked.connected, kept.connected, bobSocket.connected]);
    const inbox = collect(kept.client, "subscription { messageReceived { id } }");
    const watch = collect(bobSocket.client, 'subscription { presenceChanged(userIds: ["alice"]) { status } }');
    for (const body of ["Lunch?", "At noon"]) expect((await gql(a.url, SEND, { to: "alice", body }, { token: bob.token })).errors).toBeUndefined();

    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const outside: string[] = [];
    const problems: string[] = [];
    page.on("request", (request) => void (new URL(request.url()).origin !== origin && outside.push(request.url())));
    page.on("pageerror", (err) => void problems.push(err.message));
    page.on("console", (message) => {
      // Chromium asks for /favicon.ico by itself; the service has none (404).
      if (message.type() === "error" && !message.location().url.endsWith("/favicon.ico")) problems.push(message.text());
    });
    await page.goto(`${origin}/admin`);

    // A wrong key is refused and asked for again.
    await page.fill("#key", "not-the-admin-key");
    await page.press("#key", "Enter");
    await textWhen(page, "#sign-in-error", "refused");
    await page.fill("#key", ADMIN_KEY);
    await page.click("#sign-in button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#instances tbody tr").length === 2);
    await textWhen(page, '[data-total="sockets"] .value', "^3$");

    await page.fill("#user-id", "alice");
    await page.click("#lookup button[type=submit]");
    const phoneRow = page.locator(`#sessions tr[data-session-id="${phone.sessionId}"]`);
    await phoneRow.waitFor();
    await page.locator(`#sessions tr[data-session-id="${laptop.sessionId}"]`).waitFor();
    await textWhen(page, "#presence", "ONLINE · 2 connections");
    await textWhen(page, "#unread", "2 unread");

    page.once("dialog", (dialog) => void dialog.accept());
    await phoneRow.locator("button[data-revoke]").click();
    expect(await revoked.closed).toBe(4401);
    await phoneRow.waitFor({ state: "detached" });
    await textWhen(page, "#status", "revoked");
    // The page follows the deployment by itself: alice keeps her laptop's socket.
    await textWhen(page, "#presence", "ONLINE · 1 connection$");
    await textWhen(page, '[data-total="sockets"] .value', "^2$");
    await textWhen(page, '[data-total="subscriptions"] .value', "^2$");
    // Bob writes to alice until the page shows the rate (each refresh reports the last interval's).
    const rate = page.locator('[data-total="messagesPerSecond"] .value');
    await waitFor(async () => {
      expect((await gql(a.url, SEND, { to: "alice", body: "ping" }, { token: bob.token })).errors).toBeUndefined();
      return Number(await rate.textContent()) > 0;
    }, 10_000);
    await page.waitForFunction(() => Number(document.querySelector('[data-total="sockets"] svg')?.getAttribute("data-points")) >= 8);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
    inbox.unsubscribe();
    watch.unsubscribe();
    await Promise.all([kept.dispose(), bobSocket.dispose()]);
  });
});
