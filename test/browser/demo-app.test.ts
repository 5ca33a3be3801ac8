import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { App } from "../../src/app";
import { useService } from "../helpers/suite";

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it). playwright-core downloads no browser. */
const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.join(__dirname, "..", "..");
const WEB = path.join(ROOT, "examples", "web");
const DIST = path.join(WEB, "dist");
const DOCS = path.join(ROOT, "docs");

/** The newest modification time of the demo's sources and of the client's source it bundles. */
function newestSource(): number {
  const files = ["index.html", "main.ts", "style.css", "vite.config.ts", "package.json", "package-lock.json"].map((f) => path.join(WEB, f));
  const clientSrc = path.join(ROOT, "client", "src");
  files.push(...readdirSync(clientSrc, { recursive: true, encoding: "utf8" }).map((f) => path.join(clientSrc, f)));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/** Builds examples/web (Vite) unless dist/ is newer than every source: the test runs what the sources say. */
function buildDemo(): void {
  const built = statSync(path.join(DIST, "index.html"), { throwIfNoEntry: false })?.mtimeMs;
  if (built !== undefined && built >= newestSource()) return;
  if (!existsSync(path.join(WEB, "node_modules"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: WEB, stdio: "pipe", timeout: 120_000 });
  }
  execFileSync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: WEB, stdio: "pipe", timeout: 60_000 });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Serves dist/ on a free port: the page's origin is not the service's, as in a real deployment. */
async function serveDemo(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://demo").pathname);
    const file = path.join(DIST, pathname === "/" ? "index.html" : pathname);
    if (!file.startsWith(DIST + path.sep)) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => res.writeHead(200, { "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("the demo app (examples/web) in headless Chromium", () => {
  // The instances are started below, once the demo's origin (for ALLOWED_ORIGINS) is known.
  const service = useService({ instances: 0 });
  let demo: Awaited<ReturnType<typeof serveDemo>>;
  let one: App;
  let two: App;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (CI's .ci/run does)`);
    }
    buildDemo();
    demo = await serveDemo();
    const env = { KEY_PREFIX: service.prefix, AUTH_MODE: "dev", ALLOWED_ORIGINS: demo.origin };
    [one, two] = await Promise.all([service.startApp(env), service.startApp(env)]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // The sandbox cannot start as root; background networking is off, as the network is closed.
      args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-background-networking", "--disable-component-update"],
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  /** A tab of `context` with the demo pointed at `app`, logged in as `userId`. */
  async function openTab(context: BrowserContext, app: App, userId: string, username: string, contacts: string): Promise<Page> {
    const page = await context.newPage();
    page.on("pageerror", (err) => void problems.push(`${userId}: ${err.message}`));
    page.on("console", (message) => void (message.type() === "error" && problems.push(`${userId}: ${message.text()}`)));
    await page.goto(`${demo.origin}/?api=${encodeURIComponent(app.url)}`);
    await page.fill("#user-id", userId);
    await page.fill("#username", username);
    await page.fill("#contacts", contacts);
    await page.click("#login button[type=submit]");
    await page.locator("#connection", { hasText: "connected" }).waitFor();
    await page.waitForFunction(() => /^[\w-]{8,}$/.test(document.getElementById("my-session")?.textContent ?? ""));
    return page;
  }

  /** A row of the people list, with that status when given. */
  const person = (page: Page, userId: string, status?: string) =>
    page.locator(`#people li[data-user-id="${userId}"]${status ? `[data-status="${status}"]` : ""}`);

  it("two users on two instances: presence, a live message with unread counts, theme synced across tabs, a revoked tab logged out", async () => {
    const viewport = { width: 1100, height: 640 };
    const aliceContext = await browser.newContext({ viewport });
    const bobContext = await browser.newContext({ viewport });
    // Each wait fails well inside the test's own timeout, naming what did not appear.
    for (const context of [aliceContext, bobContext]) context.setDefaultTimeout(10_000);

    // Bob, on instance two, watches alice: offline, then online once she logs in on instance one.
    const bob = await openTab(bobContext, two, "bob", "Bob", "alice, carol");
    await person(bob, "alice", "OFFLINE").waitFor();
    const aliceTab1 = await openTab(aliceContext, one, "alice", "Alice", "bob, carol");
    const aliceTab2 = await openTab(aliceContext, one, "alice", "Alice", "bob, carol");
    await person(bob, "alice", "ONLINE").waitFor();
    expect(await person(bob, "alice").locator(".status").textContent()).toBe("ONLINE");
    await person(aliceTab1, "bob", "ONLINE").waitFor();

    // Alice writes; it appears live in bob's open chat, counted unread until he marks it read.
    await person(bob, "alice").click();
    await person(aliceTab1, "bob").click();
    await aliceTab1.fill("#body", "Hi Bob! Lunch at noon?");
    await aliceTab1.press("#body", "Enter");
    await bob.locator("#messages li.theirs", { hasText: "Hi Bob! Lunch at noon?" }).waitFor();
    await person(bob, "alice").locator('.badge[data-unread="1"]').waitFor();
    await bob.locator("#unread-total", { hasText: "1 unread" }).waitFor();
    await bob.screenshot({ path: path.join(DOCS, "demo.png") });
    await bob.click("#mark-read");
    await bob.locator("#unread-total", { hasText: "0 unread" }).waitFor();
    await person(bob, "alice").locator('.badge[data-unread="0"]').waitFor({ state: "hidden" });
    await bob.fill("#body", "Sure, see you there");
    await bob.press("#body", "Enter");
    await aliceTab1.locator("#messages li.theirs", { hasText: "Sure, see you there" }).waitFor();

    // A theme chosen in one tab reaches the user's other tab within a second, and not bob.
    await aliceTab1.selectOption("#theme", "DARK");
    await aliceTab2.waitForFunction(() => document.documentElement.dataset.theme === "DARK", undefined, { timeout: 1000 });
    expect(await aliceTab2.inputValue("#theme")).toBe("DARK");
    expect(await bob.evaluate(() => document.documentElement.dataset.theme)).toBe("SYSTEM");

    // Tab 1 lists alice's sessions and revokes tab 2's: tab 2 is logged out within a second.
    const tab1Session = await aliceTab1.locator("#my-session").textContent();
    const tab2Session = await aliceTab2.locator("#my-session").textContent();
    await aliceTab1.click('nav button[data-view="sessions"]');
    await aliceTab1.locator(`#sessions tr.current[data-session-id="${tab1Session}"]`).waitFor();
    const tab2Row = aliceTab1.locator(`#sessions tr[data-session-id="${tab2Session}"]`);
    await tab2Row.waitFor();
    await aliceTab1.screenshot({ path: path.join(DOCS, "demo-sessions.png") });
    await tab2Row.locator("button[data-revoke]").click();
    await aliceTab2.locator("#login-notice", { hasText: "This session was ended" }).waitFor({ timeout: 1000 });
    expect(await aliceTab2.locator("#signed-out").isVisible()).toBe(true);
    await tab2Row.waitFor({ state: "detached" });
    expect(await aliceTab1.locator("#connection").textContent()).toBe("connected");

    // Alice's last tab closes: bob sees her go offline.
    await aliceContext.close();
    await person(bob, "alice", "OFFLINE").waitFor();

    await bobContext.close();
    expect(problems).toEqual([]);
  }, 60_000);
});
