"use client";
// pdf.js, loaded on demand (it is the biggest dependency; the dashboard and the editor's
// preview need it, the sign-in pages do not).  The worker is a same-origin file copied to
// public/ at build time (scripts/copy-pdf-worker.mjs), so the CSP needs only 'self'.
import type * as PdfJs from "pdfjs-dist";

let lib: Promise<typeof PdfJs> | null = null;

export function pdfjs(): Promise<typeof PdfJs> {
  lib ??= import("pdfjs-dist").then((m) => {
    m.GlobalWorkerOptions.workerSrc = "/pdf.worker.min.mjs";
    return m;
  });
  return lib;
}

// One worker for the whole tab: starting a worker (loading and compiling its 1 MB script)
// took 100-200 ms per document when every getDocument() made its own.  Documents opened
// with a shared worker leave it running when they are destroyed.
let worker: Promise<PdfJs.PDFWorker> | null = null;

function sharedWorker(): Promise<PdfJs.PDFWorker> {
  worker ??= pdfjs().then((m) => new m.PDFWorker());
  return worker;
}

/** Loads pdf.js and starts its worker ahead of the first PDF (the editor calls it on open). */
export function warmPdf(): void {
  void sharedWorker().catch(() => {
    worker = null;
  });
}

export async function openPdf(bytes: ArrayBuffer) {
  const m = await pdfjs();
  const w = await sharedWorker();
  // isEvalSupported: false keeps pdf.js away from new Function() (the CSP forbids eval).
  // disableFontFace: glyphs are drawn as paths sent by the worker instead of loading each
  // embedded font into the page as a FontFace (which Chromium sanitises on every load, for
  // every new PDF); drawing the preview was somewhat faster so in the end-to-end test.
  return m.getDocument({ data: new Uint8Array(bytes), worker: w, isEvalSupported: false, disableAutoFetch: true, disableFontFace: true }).promise;
}

/** Draws page `n` (1-based) of `doc` into a new canvas `cssWidth` pixels wide. */
export async function drawPage(doc: PdfJs.PDFDocumentProxy, n: number, cssWidth: number): Promise<HTMLCanvasElement> {
  const page = await doc.getPage(n);
  const base = page.getViewport({ scale: 1 });
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const vp = page.getViewport({ scale: (cssWidth / base.width) * ratio });
  const canvas = document.createElement("canvas");
  canvas.width = Math.floor(vp.width);
  canvas.height = Math.floor(vp.height);
  await page.render({ canvas, viewport: vp }).promise;
  page.cleanup();
  return canvas;
}

/** A PNG data URL of the first page, `width` CSS pixels wide (dashboard thumbnails). */
export async function thumbnail(bytes: ArrayBuffer, width: number): Promise<string> {
  const doc = await openPdf(bytes);
  try {
    const c = await drawPage(doc, 1, width);
    return c.toDataURL("image/png");
  } finally {
    void doc.destroy();
  }
}
