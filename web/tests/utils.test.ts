import { describe, expect, it } from "vitest";
import { formatDateTime, pdfFileName, relativeTime } from "@/lib/utils";

describe("pdfFileName", () => {
  it("turns a slash into one space, never two", () => {
    expect(pdfFileName("Job at 华为 / وظيفة")).toBe("Job at 华为 وظيفة.pdf");
    expect(pdfFileName("a/b")).toBe("a b.pdf");
  });
  it("keeps letters of every script, digits, dots, dashes and underscores", () => {
    expect(pdfFileName("Ana_María-CV v2.1")).toBe("Ana_María-CV v2.1.pdf");
    expect(pdfFileName("मराठी रेज़्यूमे")).toBe("मराठी रेज़्यूमे.pdf"); // combining marks kept
  });
  it("drops characters file systems refuse and collapses white space", () => {
    expect(pdfFileName('  "Backend":  roles?*<>|\\ \t 2025 ')).toBe("Backend roles 2025.pdf");
    expect(pdfFileName("..hidden")).toBe("hidden.pdf");
  });
  it("falls back to resume and bounds the length", () => {
    expect(pdfFileName("")).toBe("resume.pdf");
    expect(pdfFileName("///")).toBe("resume.pdf");
    expect(pdfFileName("x".repeat(300))).toBe("x".repeat(120) + ".pdf");
  });
});

describe("times", () => {
  const now = Date.parse("2025-03-01T12:00:00Z");
  it("says how long ago, to the second within a minute", () => {
    expect(relativeTime("2025-03-01T11:59:58Z", now)).toBe("just now");
    expect(relativeTime("2025-03-01T11:59:15Z", now)).toBe("45 seconds ago");
    expect(relativeTime("2025-03-01T11:57:00Z", now)).toBe("3 minutes ago");
    expect(relativeTime("2025-03-01T10:00:00Z", now)).toBe("2 hours ago");
    expect(relativeTime("2025-02-24T12:00:00Z", now)).toBe("5 days ago");
    expect(relativeTime("nonsense", now)).toBe("");
  });
  it("shows seconds in absolute times", () => {
    const a = formatDateTime("2025-03-01T12:00:07Z"), b = formatDateTime("2025-03-01T12:00:42Z");
    expect(a).not.toBe(b);
    expect(a).toMatch(/07/);
  });
});
