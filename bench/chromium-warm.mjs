// Warm-tab PDF printing in headless Chromium, for bench/bench-render.sh.
//
// Starts the system Chromium once (playwright-core from bench/node_modules drives it over
// its DevTools pipe; playwright gives it a fresh temporary profile), opens `tabs` tabs and
// prints each HTML file with page.setContent() + page.pdf() in a loop.  After `warmup`
// untimed prints per tab, every tab prints `iterations` documents; the figures are the
// median and p95 of single prints and docs/s = all prints / wall time.
//
// usage: node chromium-warm.mjs CHROMIUM ITERATIONS WARMUP TABS FILE.html...
// prints one tab-separated line per file: chromium-warm <file> <tabs> <median_ms> <p95_ms> <docs_per_s>
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chromium } from 'playwright-core';

const [exe, iterArg, warmArg, tabsArg, ...files] = process.argv.slice(2);
const iterations = Number(iterArg), warmup = Number(warmArg), tabs = Number(tabsArg);
if (!exe || !(iterations > 0) || !(warmup >= 0) || !(tabs > 0) || files.length === 0) {
  console.error('usage: node chromium-warm.mjs CHROMIUM ITERATIONS WARMUP TABS FILE.html...');
  process.exit(2);
}

const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function pct(sorted, p) {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

async function printOne(page, html) {
  await page.setContent(html, { waitUntil: 'load' });
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  if (pdf.length < 1000 || pdf.subarray(0, 5).toString() !== '%PDF-')
    throw new Error('Chromium returned no PDF');
}

const browser = await chromium.launch({ executablePath: exe, headless: true, args: flags });
try {
  const context = await browser.newContext();
  const pages = [];
  for (let i = 0; i < tabs; i++)
    pages.push(await context.newPage());
  for (const file of files) {
    const html = readFileSync(file, 'utf8');
    for (const page of pages)
      for (let i = 0; i < warmup; i++)
        await printOne(page, html);
    const times = [];
    const t0 = performance.now();
    await Promise.all(pages.map(async (page) => {
      for (let i = 0; i < iterations; i++) {
        const s = performance.now();
        await printOne(page, html);
        times.push(performance.now() - s);
      }
    }));
    const wall = performance.now() - t0;
    times.sort((a, b) => a - b);
    const name = basename(file).replace(/\.html$/, '');
    console.log(['chromium-warm', name, tabs, pct(times, 50).toFixed(2), pct(times, 95).toFixed(2),
      (times.length / (wall / 1000)).toFixed(2)].join('\t'));
  }
} finally {
  await browser.close();
}
