import { describe, expect, it } from "vitest";
import { checkValue, keywordsToList, linesToList, listToKeywords, listToLines, validateSignup } from "@/lib/forms";

describe("form checks", () => {
  it("checks dates like the renderer accepts them", () => {
    for (const ok of ["2020", "2020-01", "2020-12-31", "present", ""]) expect(checkValue("date", ok)).toBeNull();
    for (const bad of ["2020-13", "20", "2020/01", "Jan 2020", "2020-01-32"]) expect(checkValue("date", bad)).toMatch(/YYYY/);
  });
  it("checks e-mails, URLs, country codes and phones", () => {
    expect(checkValue("email", "a@b.co")).toBeNull();
    expect(checkValue("email", "a@b")).not.toBeNull();
    expect(checkValue("url", "example.com/x")).toBeNull();
    expect(checkValue("url", "https://example.com")).toBeNull();
    expect(checkValue("url", "javascript:alert(1)")).not.toBeNull();
    expect(checkValue("url", "has space.com")).not.toBeNull();
    expect(checkValue("country", "DE")).toBeNull();
    expect(checkValue("country", "DEU")).not.toBeNull();
    expect(checkValue("phone", "+49 (30) 123-45")).toBeNull();
    expect(checkValue("phone", "call me")).not.toBeNull();
  });
  it("converts lists both ways, with Chinese and Arabic commas", () => {
    expect(linesToList(" a \n\n b\n")).toEqual(["a", "b"]);
    expect(listToLines(["a", "b"])).toBe("a\nb");
    expect(keywordsToList("C, Rust，Go、SQL، Lua ,")).toEqual(["C", "Rust", "Go", "SQL", "Lua"]);
    expect(listToKeywords(["C", "Go"])).toBe("C, Go");
    expect(listToKeywords("nope")).toBe("");
  });
  it("validates sign-up like rg-core (8 to 1024 bytes)", () => {
    expect(validateSignup({ email: "a@b.co", password: "12345678" })).toEqual({});
    expect(validateSignup({ email: "", password: "1234567" })).toHaveProperty("email");
    expect(validateSignup({ email: "x", password: "1234567" })).toHaveProperty("password");
    expect(validateSignup({ email: "a@b.co", password: "ü".repeat(513) })).toHaveProperty("password");
  });
});
