/**
 * A real browser runs the React chat example (examples/chat, `useStream` from the LangGraph SDK)
 * against `runbus gateway` on the real broker and MongoDB-compatible server: the answer streams
 * in word by word, Stop interrupts a run, and a reload shows the thread's history.
 *
 * Chromium is Debian's package (`bash tools/chromium/install.sh`); the test fails without it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { build, preview, type PreviewServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIRST_ANSWER, SECOND_ANSWER, browserGraphs } from "../fixtures/browser-graphs.js";
import { startGatewayStack, type GatewayStack } from "../helpers/gateway.js";
import { unusedPort } from "../helpers/ports.js";

const CHROMIUM = "/usr/bin/chromium";
const chromiumInstalled = existsSync(CHROMIUM);
const EXAMPLE_ROOT = fileURLToPath(new URL("../../examples/chat/", import.meta.url));
const FIRST_QUESTION = "Where does runbus keep things?";
const SECOND_QUESTION = "Now count, please.";

let stack: GatewayStack | undefined;
let server: PreviewServer | undefined;
let outDir: string | undefined;
let browser: Browser | undefined;
let page: Page;
let pageUrl: string;
/** What the page reported that a user would not see: uncaught errors and failed requests. */
const pageProblems: string[] = [];

beforeAll(async () => {
  // Without the browser there is nothing to start: the test itself then fails, saying why.
  if (!chromiumInstalled) return;
  // The page is built as it would be deployed, and served from its own origin, so every call
  // to the gateway is cross-origin and needs the gateway's CORS headers.
  const port = await unusedPort();
  const origin = `http://127.0.0.1:${port}`;
  outDir = await mkdtemp(join(tmpdir(), "runbus-chat-example-"));
  const configFile = join(EXAMPLE_ROOT, "vite.config.ts");
  await build({ root: EXAMPLE_ROOT, configFile, logLevel: "warn", build: { outDir, emptyOutDir: true } });
  server = await preview({ root: EXAMPLE_ROOT, configFile, logLevel: "warn", build: { outDir }, preview: { host: "127.0.0.1", port, strictPort: true } });

  stack = await startGatewayStack({ graphs: browserGraphs, config: { gateway: { corsOrigins: [origin] } } });
  pageUrl = `${origin}/?api=${encodeURIComponent(stack.urls[0]!)}`;

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  page = await browser.newPage();
  page.on("pageerror", (error) => pageProblems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // Stop aborts the run's stream on purpose.
    if (!request.url().endsWith("/runs/stream")) pageProblems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
  await stack?.stop();
}, 60_000);

/** The browser globals the page-side functions use: the project's TypeScript has no DOM lib. */
interface PageNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): ArrayLike<PageNode>;
}
interface PageGlobals {
  document: PageNode;
  MutationObserver: new (callback: () => void) => { observe(target: PageNode, options: Record<string, boolean>): void };
  /** Each distinct text the watched AI message showed, in order. */
  aiTexts?: string[];
}

/**
 * Records every text the `index`-th AI message shows from now on, as the DOM changes: a poll
 * could miss the steps between two looks.
 */
async function watchAiMessage(index: number): Promise<void> {
  await page.evaluate((watched) => {
    const scope = globalThis as unknown as PageGlobals;
    const texts: string[] = [];
    scope.aiTexts = texts;
    const list = scope.document.querySelector('ol[aria-label="Messages"]')!;
    const record = () => {
      const text = list.querySelectorAll('li[data-type="ai"] > span')[watched]?.textContent ?? "";
      if (text !== "" && texts.at(-1) !== text) texts.push(text);
    };
    new scope.MutationObserver(record).observe(list, { childList: true, subtree: true, characterData: true });
    record();
  }, index);
}

const aiTexts = () => page.evaluate(() => (globalThis as unknown as PageGlobals).aiTexts ?? []);

async function messages(): Promise<Array<{ type: string | null; text: string }>> {
  return page
    .getByRole("list", { name: "Messages" })
    .locator("li")
    .evaluateAll((items: PageNode[]) => items.map((item) => ({ type: item.getAttribute("data-type"), text: item.querySelector("span")?.textContent ?? "" })));
}

async function ask(question: string): Promise<void> {
  await page.getByRole("textbox", { name: "Message" }).fill(question);
  await page.getByRole("button", { name: "Send" }).click();
}

function wordsIn(text: string | undefined): number {
  return text?.split(" ").filter((word) => word !== "").length ?? 0;
}

/** The messages once two looks 300 ms apart agree. */
async function settledMessages(): Promise<Array<{ type: string | null; text: string }>> {
  let previous = await messages();
  for (;;) {
    await sleep(300);
    const current = await messages();
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    previous = current;
  }
}

const threadIdInUrl = () => new URL(page.url()).searchParams.get("thread");

async function runsOf(threadId: string): Promise<Array<{ run_id: string; status: string }>> {
  const response = await fetch(`${stack!.urls[0]}/threads/${threadId}/runs`);
  expect(response.status).toBe(200);
  return (await response.json()) as Array<{ run_id: string; status: string }>;
}

describe("the chat example in Chromium", () => {
  it("streams an answer word by word, stops a run midway, and shows the thread again after a reload", { timeout: 120_000 }, async () => {
    expect(chromiumInstalled, `${CHROMIUM} is missing: install Debian's chromium package with \`bash tools/chromium/install.sh\``).toBe(true);
    await page.goto(pageUrl);
    await page.getByRole("status").filter({ hasText: "Ready" }).waitFor();

    // 1. A question: the answer grows on the page as the model streams it.
    await watchAiMessage(0);
    await ask(FIRST_QUESTION);
    // A fresh stack can take seconds to create its first thread: allow for it.
    await page.waitForFunction((answer) => (globalThis as unknown as PageGlobals).aiTexts?.at(-1) === answer, FIRST_ANSWER, { timeout: 45_000 });
    await page.getByRole("status").filter({ hasText: "Ready" }).waitFor();
    const shown = await aiTexts();
    const partials = shown.slice(0, -1);
    expect(partials.length, `partial answers seen: ${JSON.stringify(shown)}`).toBeGreaterThanOrEqual(3);
    for (const [i, text] of shown.entries()) {
      if (i > 0) expect(text.length, `each text grows: ${JSON.stringify(shown)}`).toBeGreaterThan(shown[i - 1]!.length);
      expect(FIRST_ANSWER.startsWith(text), `"${text}" is a start of the answer`).toBe(true);
    }
    expect(await messages()).toEqual([
      { type: "human", text: FIRST_QUESTION },
      { type: "ai", text: FIRST_ANSWER },
    ]);
    const threadId = threadIdInUrl();
    expect(threadId, "the page keeps the new thread's id in its URL").toBeTruthy();
    expect(await runsOf(threadId!)).toMatchObject([{ status: "success" }]);

    // 2. Another question, stopped once a few words are on the page.
    await watchAiMessage(1);
    await ask(SECOND_QUESTION);
    await page.waitForFunction(
      () => ((globalThis as unknown as PageGlobals).aiTexts?.at(-1) ?? "").split(" ").filter((word) => word !== "").length >= 3,
      undefined,
      { timeout: 30_000 },
    );
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("status").filter({ hasText: "Ready" }).waitFor();
    await expect
      .poll(async () => (await runsOf(threadId!)).map((run) => run.status).sort(), { timeout: 15_000, interval: 200 })
      .toEqual(["interrupted", "success"]);
    // After Stop the hook shows the thread's state as the server kept it; once that read has
    // landed, nothing may change any more.
    const afterStop = await settledMessages();
    const textsAfterStop = await aiTexts();
    await sleep(1500);
    expect(await messages(), "the page does not change after Stop").toEqual(afterStop);
    expect(await aiTexts(), "the stopped answer does not grow").toEqual(textsAfterStop);
    expect(textsAfterStop.length, "words of the second answer were shown before Stop").toBeGreaterThanOrEqual(3);
    for (const text of textsAfterStop) expect(SECOND_ANSWER.startsWith(text), `"${text}" is a start of the second answer`).toBe(true);
    expect(wordsIn(textsAfterStop.at(-1)), "the second answer was cut off").toBeLessThan(wordsIn(SECOND_ANSWER));

    // 3. A reload reads the thread named in the URL back from the gateway.
    await page.reload();
    expect(threadIdInUrl()).toBe(threadId);
    await page.getByRole("list", { name: "Messages" }).locator('li[data-type="ai"]').first().waitFor();
    const restored = await settledMessages();
    expect(restored.slice(0, 2)).toEqual([
      { type: "human", text: FIRST_QUESTION },
      { type: "ai", text: FIRST_ANSWER },
    ]);
    expect(restored.map((message) => message.text)).not.toContain(SECOND_ANSWER);
    await page.getByRole("status").filter({ hasText: "Ready" }).waitFor();
    expect(pageProblems).toEqual([]);
  });
});
