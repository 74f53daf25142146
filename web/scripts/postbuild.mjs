// After `next build` (static export to out/): computes the SHA-256 of every inline <script>
// in the exported pages and writes the Content-Security-Policy that Caddy sends (out.csp,
// read by scripts/stack).  So the policy allows exactly our own inline bootstrap scripts and
// nothing else: no 'unsafe-inline', no 'unsafe-eval' for scripts.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "out");
const hashes = new Set();
function walk(d) {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith(".html")) {
      const html = readFileSync(p, "utf8");
      for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
        if (m[1].length) hashes.add("'sha256-" + createHash("sha256").update(m[1], "utf8").digest("base64") + "'");
      }
    }
  }
}
walk(out);
export const policy = [
  "default-src 'self'",
  `script-src 'self' ${[...hashes].sort().join(" ")}`,
  // React and Radix set style attributes; no external styles are allowed.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
writeFileSync(join(root, "out.csp"), policy + "\n");
console.log(`postbuild: CSP with ${hashes.size} inline script hashes written to out.csp`);
