// Render a page in headless Chromium (Debian's, through playwright-core) and report what a reader sees.
//
//   node tests/docs/render_page.mjs URL SCREENSHOT.png [CHROMIUM]
//
// Prints one JSON object: the entries of the side menu (every one is opened), the text shown on
// the way, the console's errors and warnings, uncaught exceptions, and requests that failed or
// left the page's origin. The screenshot is of the page as it opens.
import { chromium } from "playwright-core";

const [url, screenshot, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
const origin = new URL(url).origin;
const report = { console: [], pageErrors: [], failedRequests: [], foreignRequests: [], menu: [], text: "" };

// The page's text once Redoc has rendered what a click asked for. Redoc puts the opened
// section's id in the location's hash (`#/section/design`) and renders that section: wait for it
// to be on the page, then for the text to stay unchanged over 300 ms. (Waiting for the text to
// change instead cost 2 s for every entry whose section was already shown: a minute in all.)
async function textAfterClick(page) {
  await page.waitForFunction(
    () => {
      const id = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
      return id === "" || document.getElementById(id) !== null;
    },
    null,
    { timeout: 5000 },
  );
  let text = await page.evaluate(() => document.body.innerText);
  for (let tries = 0; tries < 50; tries++) {
    await page.waitForTimeout(300);
    const later = await page.evaluate(() => document.body.innerText);
    if (later === text) break;
    text = later;
  }
  return text;
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // What works in a container as root with no GPU and no network but loopback.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (message) => {
    if (["error", "warning"].includes(message.type())) {
      report.console.push({ type: message.type(), text: message.text() });
    }
  });
  page.on("pageerror", (error) => report.pageErrors.push(String(error)));
  page.on("requestfailed", (request) =>
    report.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`),
  );
  page.on("request", (request) => {
    const requested = new URL(request.url());
    if (!["data:", "blob:"].includes(requested.protocol) && requested.origin !== origin) {
      report.foreignRequests.push(request.url());
    }
  });
  await page.goto(url, { waitUntil: "networkidle" });
  // Redoc renders a section when its entry in the side menu is opened: open every entry, the
  // ones that appear on opening a group included, and keep all the text shown on the way.
  const labels = page.locator("[data-testid='menu-item-label']");
  await labels.first().waitFor({ timeout: 30000 });
  const opened = new Set();
  const texts = [];
  for (let round = 0; round < 200; round++) {
    // Found and clicked in one step in the page: the menu may change between two steps (a group
    // opening), so an entry found by its index could be gone by the time it is clicked.
    const name = await page.evaluate((done) => {
      const entries = [...document.querySelectorAll("[data-testid='menu-item-label']")];
      const entry = entries.find((element) => !done.includes(element.innerText));
      entry?.click();
      return entry ? entry.innerText : null;
    }, [...opened]);
    if (name === null) break;
    opened.add(name);
    texts.push(await textAfterClick(page));
  }
  report.menu = [...opened];
  report.text = texts.join("\n");
  await page.goto(url, { waitUntil: "networkidle" });
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
