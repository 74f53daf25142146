// End-to-end test of the web app in Debian's Chromium (playwright-core, never a downloaded
// browser) against the real stack behind Caddy.  Started by tests/integration/it-web.py,
// which brings up rg-core, rg-flow, rg-pdf (and rg-notify when built) and Caddy.
//   RG_E2E_BASE       the edge, e.g. http://localhost:18080
//   RG_E2E_ARTIFACTS  where screenshots, the downloaded PDF and measures.json go
//   RG_E2E_HUB        1 when rg-notify runs behind /ws (then the preview must go live)
// Prints one line per check and ends with "N passed, N failed".
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const require = createRequire(import.meta.url);
const BASE = process.env.RG_E2E_BASE || "http://localhost:8080";
const OUT = process.env.RG_E2E_ARTIFACTS || "var/e2e";
const HUB = process.env.RG_E2E_HUB === "1";
mkdirSync(OUT, { recursive: true });
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let passed = 0, failed = 0, shot = 0;
const measures = {};
function check(ok, what, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${!ok && detail !== undefined ? " -- " + JSON.stringify(detail).slice(0, 600) : ""}`);
  return ok;
}
async function snap(page, name) {
  shot++;
  const f = join(OUT, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: f, fullPage: false });
}

const consoleErrors = [];
// The browser logs every non-2xx response.  Only two are part of a scenario step here, each
// by status and URL: the stale tab's save (412, step 8) and the password step of a login
// with two-factor authentication on (401 totp_required, step 12).
const expectedNetwork = [
  { status: 412, url: /\/api\/v1\/resumes\/[^/?]+$/ },
  { status: 401, url: /\/api\/v1\/auth\/login$/ },
];
function watch(page, tag) {
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const t = m.text();
    const url = m.location()?.url || "";
    if (/Failed to load resource/.test(t) && expectedNetwork.some((e) => t.includes(`status of ${e.status} `) && e.url.test(url))) return;
    if (!HUB && /WebSocket connection to .*\/ws/.test(t)) return; // no hub running: the app polls
    consoleErrors.push(`${tag}: ${t}${url ? " (" + url + ")" : ""}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${tag}: pageerror ${e.message}`));
}
const cspScript = () => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
};

async function axe(page, tag) {
  await page.evaluate(AXE);
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  measures.axe ??= {};
  measures.axe[tag] = r.length;
  check(r.length === 0, `axe-core (WCAG 2.1 A/AA + best practice): no violations on ${tag}`, r);
}

function totp(secret, t = Date.now()) {
  const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alpha.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(t / 30000)));
  const h = createHmac("sha1", key).update(msg).digest();
  const o = h[h.length - 1] & 15;
  return String(((h.readUInt32BE(o) & 0x7fffffff) % 1e6)).padStart(6, "0");
}

const shownVersion = (page) => page.getByTestId("preview-pages").getAttribute("data-version").then(Number);
async function waitSaved(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]')?.getAttribute("data-status") === "saved", null, { timeout: 15000 });
}
async function waitPreview(page, above) {
  await page.waitForFunction((v) => Number(document.querySelector('[data-testid="preview-pages"]')?.getAttribute("data-version")) > v && document.querySelector('[data-testid="preview-status"]')?.getAttribute("data-phase") === "done", above, { timeout: 30000 });
}
/** Elements (by selector, in the page or in scope) that are visible but not wholly on screen. */
// Against the device width, not window.innerWidth: a mobile browser zooms out to show a
// page wider than the screen, and innerWidth (the visual viewport) grows with it.
async function offScreen(page, selector, width = 390) {
  return page.evaluate(([sel, width]) => {
    const out = [];
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") continue;
      if (r.left < -0.5 || r.right > width + 0.5) out.push(`${el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40)} [${Math.round(r.left)}..${Math.round(r.right)}]`);
    }
    return out;
  }, [selector, width]);
}
async function openSection(scope, label) {
  const btn = scope.getByRole("button", { name: new RegExp("^" + label) });
  if ((await btn.getAttribute("aria-expanded")) !== "true") await btn.click();
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true, locale: "en-US", permissions: ["clipboard-read", "clipboard-write"] });
  await ctx.addInitScript(cspScript);
  const page = await ctx.newPage();
  watch(page, "tab1");
  const email = `e2e-${Date.now()}@example.com`;
  const password = "correct horse battery";

  // 1. sign up
  const landingApi = [];
  const onResp = (r) => r.url().includes("/api/") && landingApi.push(`${r.status()} ${new URL(r.url()).pathname}`);
  page.on("response", onResp);
  const sessionAnswer = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/v1/auth/session");
  await page.goto(BASE + "/");
  const sess = await sessionAnswer;
  const sessBody = await sess.json();
  await page.getByRole("link", { name: "Sign up" }).first().waitFor();
  await page.waitForLoadState("networkidle");
  page.off("response", onResp);
  check(sess.status() === 200 && sessBody.user === null, "signed out, auth/session answers 200 with no user", [sess.status(), sessBody]);
  check(landingApi.length > 0 && landingApi.every((s) => s.startsWith("200 ")), "the start page learns that nobody is signed in without a failing request", landingApi);
  const icons = await page.evaluate(async () => {
    const out = [];
    for (const u of [document.querySelector('link[rel="icon"]')?.getAttribute("href"), "/favicon.ico"]) {
      if (!u) { out.push("no <link rel=icon>"); continue; }
      const r = await fetch(u);
      out.push(`${r.status} ${r.headers.get("content-type")} ${(await r.text()).includes("<svg") ? "svg" : "?"}`);
    }
    return out;
  });
  check(icons.every((s) => /^200 image\/svg\+xml.* svg$/.test(s)), "the pages link an icon, and /favicon.ico answers it too", icons);
  await snap(page, "landing");
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Alex Example");
  await page.getByLabel("E-mail", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await snap(page, "signup-form");
  await axe(page, "sign-up");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/dashboard$/, { timeout: 15000 });
  await page.getByText("No resumes yet").waitFor();
  check(true, "a new user signs up and lands on the empty dashboard");
  await snap(page, "dashboard-empty");
  await axe(page, "dashboard");

  // 2. create a resume
  await page.getByRole("button", { name: "New resume" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Backend roles");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.waitForURL(/\/editor\?id=/, { timeout: 15000 });
  const resumeId = new URL(page.url()).searchParams.get("id");
  await page.getByLabel("Full name", { exact: true }).waitFor();
  check((await page.getByLabel("Full name", { exact: true }).inputValue()) === "Alex Example", "the new resume starts with the account's name");
  await page.waitForFunction(() => document.querySelector('[data-testid="preview-status"]')?.getAttribute("data-phase") === "done", null, { timeout: 30000 });
  await snap(page, "editor-new");

  // 3. fill several sections, with Chinese and Arabic text
  const b = page.getByTestId("section-basics");
  await b.getByLabel("Headline", { exact: true }).fill("Backend Engineer");
  await b.getByLabel("E-mail", { exact: true }).fill("not-an-email");
  await b.getByLabel("Phone", { exact: true }).click();
  check(await b.getByText("Enter an e-mail address like name@example.com.").isVisible(), "a validation message appears next to a bad e-mail");
  await b.getByLabel("E-mail", { exact: true }).fill("alex@example.com");
  await b.getByLabel("Website", { exact: true }).fill("not a url");
  await b.getByLabel("Photo URL", { exact: true }).click();
  await b.getByText("A web address cannot contain spaces.").waitFor();
  const tops = await page.evaluate(() => ["f-basics-url", "f-basics-image"].map((id) => document.getElementById(id).getBoundingClientRect().top));
  check(Math.abs(tops[0] - tops[1]) <= 1, "a message under Website does not push the Photo URL field down", tops);
  await b.getByLabel("Website", { exact: true }).fill("");
  await b.getByLabel("Summary", { exact: true }).fill("Builds reliable services. 我喜欢分布式系统。");
  const work = page.getByTestId("section-work");
  await openSection(work, "Work experience");
  await work.getByRole("button", { name: "Add position" }).click();
  const w0 = page.getByTestId("entry-work-0");
  await w0.getByLabel("Position", { exact: true }).fill("Senior Engineer");
  await w0.getByLabel("Company", { exact: true }).fill("北京数据科技");
  await w0.getByLabel("Start date", { exact: true }).fill("2019-13");
  await w0.getByLabel("End date", { exact: true }).click();
  check(await w0.getByText(/Use YYYY, YYYY-MM or YYYY-MM-DD/).isVisible(), "a bad date shows its message next to the field");
  await w0.getByLabel("Start date", { exact: true }).fill("2019-03");
  await w0.getByLabel("Highlights (one per line)", { exact: true }).fill("Cut p99 latency by 40%\nRan the on-call rota");
  await work.getByRole("button", { name: "Add position" }).click();
  const w1 = page.getByTestId("entry-work-1");
  await w1.getByLabel("Position", { exact: true }).fill("Engineer");
  await w1.getByLabel("Company", { exact: true }).fill("Early Startup GmbH");
  await page.getByRole("button", { name: /^Move position 2 .* up$/ }).click();
  const edu = page.getByTestId("section-education");
  await openSection(edu, "Education");
  await edu.getByRole("button", { name: "Add school" }).click();
  const e0 = page.getByTestId("entry-education-0");
  await e0.getByLabel("Institution", { exact: true }).fill("جامعة القاهرة");
  await e0.getByLabel("Field of study", { exact: true }).fill("علوم الحاسب");
  await e0.getByLabel("Degree", { exact: true }).fill("BSc");
  const sk = page.getByTestId("section-skills");
  await openSection(sk, "Skills");
  await sk.getByRole("button", { name: "Add skill" }).click();
  await page.getByTestId("entry-skills-0").getByLabel("Skill", { exact: true }).fill("Distributed systems");
  await page.getByTestId("entry-skills-0").getByLabel("Keywords (comma separated)", { exact: true }).fill("C, PostgreSQL, RabbitMQ");
  await waitSaved(page);
  await snap(page, "editor-filled");

  // 4. reorder sections by keyboard (dnd-kit) and check the order on screen
  const before = await page.locator("[data-section]").evaluateAll((els) => els.map((e) => e.getAttribute("data-section")));
  // By keyboard: focus the section's "move up" control and press Enter until it is first.
  for (let i = 0; i < before.indexOf("education"); i++) {
    await page.getByRole("button", { name: "Move section Education up" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForTimeout(100);
  }
  const after = await page.locator("[data-section]").evaluateAll((els) => els.map((e) => e.getAttribute("data-section")));
  check(after[0] === "education" && after.indexOf("work") > 0, "Education moved to the top by keyboard", { before, after });
  await waitSaved(page);
  const v0 = await shownVersion(page);
  await waitPreview(page, v0 - 1);

  // 5. the preview follows edits: measure last keystroke -> new preview on screen
  await page.evaluate(() => {
    window.__lastInput = 0;
    document.addEventListener("input", () => (window.__lastInput = performance.now()), true);
  });
  const lat = [];
  const traces = [];
  const summary = b.getByLabel("Summary", { exact: true });
  const savedVersion = async () => Number(await page.getByTestId("save-status").getAttribute("data-version"));
  const pdfLat = [];
  for (let i = 0; i < 12; i++) {
    // Start from a settled editor: saved, and the PDF of the saved version ready.
    await waitSaved(page);
    const v = await savedVersion();
    await waitPreview(page, v - 1);
    await summary.press("End");
    await page.keyboard.type(i % 2 ? "." : " ");
    const seq = Number(await page.getByTestId("save-status").getAttribute("data-edit-seq"));
    // The picture of this keystroke's document on screen (not a late one of an older edit).
    await page.waitForFunction(([seq, t0]) => (window.__rgPreviewLog || []).some((e) => e.kind === "draft" && e.seq >= seq && e.at >= t0), [seq, await page.evaluate(() => window.__lastInput)], { timeout: 15000 });
    const { ms, marks } = await page.evaluate((seq) => {
      const log = window.__rgPreviewLog || [];
      const t0 = window.__lastInput;
      const end = log.find((e) => e.kind === "draft" && e.seq >= seq && e.at >= t0).at;
      // The app's timing marks (web/lib/trace.ts) between the keystroke and the swap.
      const marks = (window.__rgTrace || []).filter((m) => m.at >= t0 && m.at <= end).map((m) => [m.name, Math.round((m.at - t0) * 10) / 10]);
      return { ms: end - t0, marks: [...marks, ["shown", Math.round((end - t0) * 10) / 10]] };
    }, seq);
    lat.push(ms);
    traces.push(marks);
    // The saved version's PDF (the file Download gives) follows through the pipeline.
    await page.waitForFunction((old) => {
      const el = document.querySelector('[data-testid="save-status"]');
      return el?.getAttribute("data-status") === "saved" && Number(el.getAttribute("data-version")) > old;
    }, v, { timeout: 15000 });
    const nv = await savedVersion();
    await waitPreview(page, nv - 1);
    pdfLat.push(await page.evaluate((nv) => {
      const t0 = window.__lastInput;
      const m = (window.__rgTrace || []).find((m) => m.name === "pdf.fetched" && m.ref >= nv && m.at >= t0);
      return m ? m.at - t0 : null;
    }, nv));
  }
  // Median time of each stage: from the keystroke to the first mark of each name.
  const firstAt = (marks, name) => marks.find((m) => m[0] === name)?.[1];
  const med = (xs) => (xs.length ? xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] : null);
  const stages = {};
  for (const name of ["draft.request", "draft.decoded", "shown"]) {
    stages[name] = med(traces.map((t) => firstAt(t, name)).filter((x) => x !== undefined));
  }
  measures.preview_stages_ms = { from: "keystroke", median_at: stages, edits: traces };
  lat.sort((x, y) => x - y);
  measures.preview_latency_ms = { n: lat.length, p50: lat[Math.floor(lat.length / 2)], p90: lat[Math.floor(lat.length * 0.9)], min: lat[0], max: lat[lat.length - 1], hub: HUB };
  const pl = pdfLat.filter((x) => x !== null).sort((x, y) => x - y);
  measures.pdf_ready_ms = { from: "keystroke", n: pl.length, p50: pl[Math.floor(pl.length / 2)] ?? null, max: pl[pl.length - 1] ?? null };
  check(lat.length === 12, `the preview updated after each of 12 edits (p50 ${measures.preview_latency_ms.p50.toFixed(0)} ms, hub ${HUB ? "on" : "off"})`);
  check(pl.length === 12, `the PDF of each saved version followed (p50 ${measures.pdf_ready_ms.p50?.toFixed(0)} ms after the keystroke)`, pdfLat);
  if (HUB) check(await page.getByText("Live", { exact: true }).isVisible(), "the preview is live through the hub");
  await snap(page, "editor-preview");
  await axe(page, "editor");

  // 6. switch theme
  const logLen = await page.evaluate(() => (window.__rgPreviewLog || []).length);
  await page.getByLabel("Theme", { exact: true }).selectOption({ label: "Sidebar" });
  await page.waitForFunction((n) => (window.__rgPreviewLog || []).length > n, logLen, { timeout: 30000 });
  check(true, "switching the theme re-renders the preview");
  await snap(page, "editor-theme-sidebar");

  // 7. download the PDF; pdftotext finds the edits in the order of the editor
  await page.getByLabel("Resume name", { exact: true }).fill("Backend / 华为");
  await waitSaved(page);
  await waitPreview(page, (await savedVersion()) - 1);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-pdf").click()]);
  check(dl.suggestedFilename() === "Backend 华为.pdf", "the file name of a title with a slash has single spaces", dl.suggestedFilename());
  const pdfPath = join(OUT, "download.pdf");
  await dl.saveAs(pdfPath);
  // Compared without white space and bidi marks: pdftotext splits right-to-left runs in a
  // left-to-right page into letters, but keeps them in logical order.
  const squash = (s) => s.normalize("NFKC").replace(/[\s\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, "");
  const text = squash(execFileSync("pdftotext", ["-raw", pdfPath, "-"]).toString("utf8"));
  writeFileSync(join(OUT, "download.txt"), text);
  const pos = (s) => text.indexOf(squash(s));
  const found = ["Alex Example", "北京数据科技", "Early Startup GmbH", "Senior Engineer", "جامعة القاهرة", "Distributed systems"].map((s) => [s, pos(s)]);
  check(found.every(([, p]) => p >= 0), "the downloaded PDF holds the edits (Latin, Chinese, Arabic)", found);
  check(pos("جامعة القاهرة") >= 0 && pos("جامعة القاهرة") < pos("Senior Engineer"), "education comes before work in the PDF, as reordered", found);
  check(pos("Early Startup GmbH") >= 0 && pos("Early Startup GmbH") < pos("北京数据科技"), "work entries in the reordered order", found);

  // 8. a second tab's stale save shows the conflict and overwrites nothing
  const tab2 = await ctx.newPage();
  watch(tab2, "tab2");
  await tab2.goto(BASE + "/editor?id=" + resumeId);
  await tab2.getByLabel("Headline", { exact: true }).waitFor();
  await page.getByTestId("section-basics").getByLabel("Headline", { exact: true }).fill("Principal Engineer");
  await waitSaved(page);
  await tab2.getByTestId("newer-version").waitFor({ timeout: 15000 });
  check(true, "an idle tab is told that a newer version was saved elsewhere");
  await snap(tab2, "tab2-newer-version");
  await tab2.getByLabel("Headline", { exact: true }).fill("Stale tab headline");
  await tab2.getByTestId("conflict").waitFor({ timeout: 15000 });
  check(true, "the stale tab shows the conflict");
  await tab2.getByTestId("preview-status").filter({ hasText: "Not saved (conflict)" }).waitFor({ timeout: 15000 });
  check(await tab2.getByRole("button", { name: /Download PDF/ }).isDisabled(), "in a conflict the status says not saved and Download is off");
  await snap(tab2, "tab2-conflict");
  const server = await page.evaluate(async (id) => (await (await fetch("/api/v1/resumes/" + id)).json()).data.basics.label, resumeId);
  check(server === "Principal Engineer", "the stale tab's edit did not overwrite the other", server);
  await tab2.close();

  // 9. version history has the versions and restores one
  await page.getByRole("button", { name: /History|Version history/ }).click();
  await page.getByRole("list", { name: "Versions, newest first" }).waitFor();
  const nver = await page.getByRole("list", { name: "Versions, newest first" }).locator("li").count();
  check(nver > 5, "version history lists the saves", nver);
  const times = await page.getByRole("list", { name: "Versions, newest first" }).locator("time").allTextContents();
  check(times.length === nver && times.every((t) => /(ago|just now) · .*\d{1,2}:\d{2}:\d{2}/.test(t)), "each version shows how long ago and the time to the second", times.slice(0, 3));
  const older = page.getByRole("button", { name: /^Show version \d+$/ }).first();
  const olderV = Number((await older.getAttribute("aria-label")).match(/\d+/)[0]);
  await older.click();
  const pv = page.getByTestId(`version-preview-${olderV}`);
  await pv.waitFor();
  const pvText = await pv.textContent();
  check(/Alex Example/.test(pvText) && /Work experience/.test(pvText) && /(Restoring it changes|Same content)/.test(pvText), "a version can be looked at before restoring it", pvText.slice(0, 300));
  const pic = page.getByTestId(`version-picture-${olderV}`).getByRole("img", { name: `Page 1 of 1 of version ${olderV}` });
  await pic.waitFor({ timeout: 15000 });
  const picBox = await pic.boundingBox();
  check(picBox && picBox.width > 100 && Math.abs(picBox.height / picBox.width - 841.89 / 595.276) < 0.02, "a version shows a picture of its first page, in proportion", picBox);
  await snap(page, "history-preview");
  await page.getByRole("button", { name: `Restore version ${olderV}` }).click();
  await page.getByText("Version restored", { exact: true }).first().waitFor();
  const toastBox = await page.evaluate(() => {
    const c = document.querySelector('[data-testid="toast-close"]');
    const t = c?.parentElement;
    if (!c || !t) return null;
    const a = c.getBoundingClientRect(), b = t.getBoundingClientRect();
    return { inside: a.left >= b.left && a.right <= b.right && a.top >= b.top && a.bottom <= b.bottom, close: [a.left, a.top, a.right, a.bottom], toast: [b.left, b.top, b.right, b.bottom] };
  });
  check(toastBox?.inside, "the toast's close button sits inside its corner", toastBox);
  await waitSaved(page);

  // 10. share link: create, open signed out, view count
  await page.getByRole("button", { name: "Share" }).click();
  await page.getByRole("button", { name: "Create link" }).click();
  const link = await page.getByLabel("Link", { exact: true }).inputValue();
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByText("Link copied.").waitFor();
  check((await page.evaluate(() => navigator.clipboard.readText())) === link, "Copy puts the link on the clipboard and says so in the dialog");
  await snap(page, "share-dialog");
  await page.keyboard.press("Escape");
  await page.waitForTimeout(300);
  check((await page.getByRole("dialog").count()) === 0, "one Escape after Copy closes the share dialog");
  const anon = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await anon.addInitScript(cspScript);
  const ap = await anon.newPage();
  watch(ap, "signed-out");
  await ap.goto(link);
  await ap.locator('[data-testid="shared-pages"] canvas').first().waitFor({ timeout: 20000 });
  check((await ap.getByTestId("shared-name").textContent()) === "Alex Example", "the shared link opens signed out and shows the PDF");
  await snap(ap, "shared-signed-out");
  await axe(ap, "shared page");
  await anon.close();
  await page.getByRole("button", { name: "Share" }).click();
  await page.getByTestId("share-views").waitFor();
  check(/Opened 1 time/.test(await page.getByTestId("share-views").textContent()), "the share dialog counts the view");
  await page.keyboard.press("Escape");

  // 11. dashboard: thumbnail, import with warnings, delete and restore
  await page.goto(BASE + "/dashboard");
  await page.getByRole("img", { name: "First page of Backend / 华为" }).waitFor({ timeout: 20000 });
  check(true, "the dashboard shows a thumbnail of the first page");
  const legacy = JSON.stringify({ basics: { name: "Legacy Person", website: "example.org" }, work: [{ company: "OldCo", position: "Dev", startDate: "2015-01" }] });
  await page.locator("#import-file").setInputFiles({ name: "legacy.json", mimeType: "application/json", buffer: Buffer.from(legacy) });
  await page.getByRole("list", { name: "Import warnings" }).waitFor({ timeout: 15000 });
  check((await page.getByRole("list", { name: "Import warnings" }).locator("li").count()) >= 2, "importing an old JSON Resume shows its warnings");
  await snap(page, "import-warnings");
  check((await page.getByRole("dialog").getByText("“Legacy Person” was imported").count()) === 1, "an imported resume is named after the person in it, not the file");
  await page.getByRole("button", { name: "Close", exact: true }).first().click();
  // Never opened in the editor: the dashboard asks for its first PDF, so it gets a picture.
  await page.getByRole("img", { name: "First page of Legacy Person" }).waitFor({ timeout: 30000 });
  check(true, "an imported resume's card shows its first page without opening it");
  await page.getByRole("button", { name: "Actions for Legacy Person" }).click();
  await page.getByRole("menuitem", { name: "Move to trash" }).click();
  await page.getByRole("tab", { name: /Trash/ }).click();
  await page.getByRole("button", { name: "Restore Legacy Person" }).click();
  await page.getByRole("tab", { name: /All/ }).click();
  await page.getByRole("link", { name: "Open Legacy Person" }).waitFor();
  check(true, "delete to the trash and restore");
  await snap(page, "dashboard");

  // 12. account: enable TOTP, sign out, sign in with the second factor (a recovery code)
  await page.goto(BASE + "/account");
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent()).trim();
  await page.getByLabel("Code from the app", { exact: true }).fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.getByRole("list", { name: "Recovery codes" }).waitFor();
  const recovery = (await page.getByRole("list", { name: "Recovery codes" }).locator("li").first().textContent()).trim();
  await snap(page, "account-totp");
  await axe(page, "account");
  await page.getByRole("button", { name: "Copy codes" }).click();
  await page.getByText("The recovery codes are on your clipboard.", { exact: true }).first().waitFor();
  await page.getByRole("button", { name: /Account menu/ }).click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/);
  await page.getByLabel("E-mail", { exact: true }).waitFor();
  check((await page.getByText("The recovery codes are on your clipboard.").count()) === 0, "no toast of the signed-in session follows onto the sign-in page");
  await page.getByLabel("E-mail", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Authentication code", { exact: true }).fill(recovery);
  await snap(page, "login-totp");
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL(/\/dashboard$/, { timeout: 15000 });
  check(true, "sign out, then sign in with the TOTP step");

  // 13. phone width
  // Realistic, long entry titles in Latin and Arabic (the header of each entry shows them)
  // and a long Arabic resume name; nothing may scroll sideways or leave the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, storageState: await ctx.storageState(), permissions: ["clipboard-read", "clipboard-write"] });
  await phone.addInitScript(cspScript);
  const pp = await phone.newPage();
  watch(pp, "phone");
  await pp.goto(BASE + "/editor?id=" + resumeId);
  await pp.getByLabel("Full name", { exact: true }).waitFor();
  const pwork = pp.getByTestId("section-work");
  await openSection(pwork, "Work experience");
  const nWork = await pwork.locator('[data-testid^="entry-work-"]').count();
  await pwork.getByRole("button", { name: "Add position" }).click();
  const wl = pp.getByTestId(`entry-work-${nWork}`);
  await wl.getByLabel("Position", { exact: true }).fill("Senior Software Engineer");
  await wl.getByLabel("Company", { exact: true }).fill("Acme Corporation");
  await pwork.getByRole("button", { name: "Add position" }).click();
  const wa = pp.getByTestId(`entry-work-${nWork + 1}`);
  await wa.getByLabel("Position", { exact: true }).fill("مهندسة برمجيات أولى");
  await wa.getByLabel("Company", { exact: true }).fill("شركة المدفوعات");
  await pp.getByLabel("Resume name", { exact: true }).fill("السيرة الذاتية لمهندسة البرمجيات الأولى في شركة المدفوعات");
  await waitSaved(pp);
  const fit = await pp.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, scale: window.visualViewport?.scale }));
  check(fit.scrollWidth <= 390 && fit.innerWidth === 390, "the editor fits a 390 px phone screen with long Latin and Arabic entry titles (no sideways scroll, no zoom-out)", fit);
  const off = await offScreen(pp, "main button, main input, main textarea, header button, header input, header a");
  check(off.length === 0, "every button and field of the editor is on screen at 390 px (move, remove, RTL inputs)", off);
  const arabic = await wa.getByLabel("Position", { exact: true }).evaluate((el) => ({ dir: getComputedStyle(el).direction, w: el.getBoundingClientRect().width, sw: el.scrollWidth, cw: el.clientWidth }));
  check(arabic.dir === "rtl" && arabic.sw <= arabic.cw + 1, "an Arabic input types right to left and its text is in view", arabic);
  const titleBox = await pp.getByLabel("Resume name", { exact: true }).evaluate((el) => ({ w: Math.round(el.getBoundingClientRect().width), dir: getComputedStyle(el).direction, ellipsis: getComputedStyle(el).textOverflow }));
  check(titleBox.w >= 120 && titleBox.dir === "rtl" && titleBox.ellipsis === "ellipsis", "the resume name in the phone header is wide enough, right to left for Arabic, with an ellipsis", titleBox);
  await snap(pp, "phone-editor");
  // History and Share at phone width: the dialog and its buttons fit the screen.
  await pp.getByRole("button", { name: "Version history" }).click();
  await pp.getByRole("list", { name: "Versions, newest first" }).waitFor();
  const offH = await offScreen(pp, '[role="dialog"], [role="dialog"] button');
  check(offH.length === 0, "the History dialog and its Restore, Show and close buttons fit a 390 px screen", offH);
  await snap(pp, "phone-history");
  await pp.keyboard.press("Escape");
  await pp.getByRole("button", { name: "Share" }).click();
  await pp.getByRole("button", { name: "Copy" }).waitFor();
  const offS = await offScreen(pp, '[role="dialog"], [role="dialog"] button, [role="dialog"] input');
  check(offS.length === 0, "the Share dialog, its link, Copy and close buttons fit a 390 px screen", offS);
  await snap(pp, "phone-share");
  await pp.keyboard.press("Escape");
  await pp.getByRole("tab", { name: "Preview" }).click();
  await pp.locator('[data-testid="preview-pages"] [role="img"]').first().waitFor({ timeout: 20000 });
  await snap(pp, "phone-preview");
  await phone.close();

  // JS the editor page loads before it is usable: the <script src> of out/editor.html
  // (chunks imported later, such as pdf.js, the dialogs and the account menu, are not in it).
  const html = readFileSync(join("out", "editor.html"), "utf8");
  const srcs = [...new Set([...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]))];
  let raw = 0, gz = 0;
  for (const src of srcs) {
    const buf = readFileSync(join("out", src.replace(/^\//, "")));
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  measures.editor_first_load_js = { files: srcs.length, raw_bytes: raw, gzip9_bytes: gz, gzip9_kib: Math.round((gz / 1024) * 10) / 10 };
  const csp = await page.evaluate(() => window.__csp || []);
  check(csp.length === 0, "no Content-Security-Policy violations", csp);
  check(consoleErrors.length === 0, "no console errors", consoleErrors);
} catch (e) {
  check(false, "the scenario ran to the end", String(e && e.stack ? e.stack : e));
} finally {
  writeFileSync(join(OUT, "measures.json"), JSON.stringify(measures, null, 2) + "\n");
  await browser.close();
}
console.log(`e2e: screenshots and measures in ${OUT}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
