// A real headless Chromium for the tests of pages (Debian's /usr/bin/chromium,
// driven by playwright-core; tools/test_peers.ts installs it), and waiting
// on what a page shows: every wait ends when the page shows it or the limit
// passes (then the test fails with what was awaited), never on a timer.
import { type Browser, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** A launched browser that closes with `await using`. */
export interface TestBrowser {
  readonly browser: Browser;
  /** A page in a fresh context (its own cookies and storage), closed with the browser. */
  page(): Promise<Page>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Launches headless Chromium. */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  return {
    browser,
    async page() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      return await context.newPage();
    },
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  };
}

/**
 * Collects what goes wrong in a page: uncaught errors and console errors, so
 * a test can assert the page's script ran clean.
 */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return errors;
}
