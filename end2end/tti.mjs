// `make bench`: time to interactive of a page in Debian's Chromium, the median of ten
// cold loads (a fresh browser context each: nothing cached). "Interactive" is the
// moment the page's loader has run `hydrate()` and marked `hydrated`
// (src/app.rs, BundleLinks); the figure is that mark's time from navigation start.
//
//   node end2end/tti.mjs http://localhost:3400/login
import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://localhost:3000/login';
const runs = Number(process.env.TTI_RUNS ?? 10);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const times = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('hydrated').length > 0, null, { timeout: 15_000 });
  times.push(await page.evaluate(() => performance.getEntriesByName('hydrated')[0].startTime));
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);
const median = (times[(runs - 1) >> 1] + times[runs >> 1]) / 2;
console.log(`time to interactive of ${new URL(url).pathname}: median ${median.toFixed(0)} ms of ${runs} cold loads (min ${times[0].toFixed(0)}, max ${times[runs - 1].toFixed(0)})`);
