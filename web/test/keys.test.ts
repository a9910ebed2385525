import { describe, expect, it } from "vitest";
import { isSendKey } from "../src/lib/keys";

describe("Enter in the composer", () => {
  it("sends on a plain Enter", () => {
    expect(isSendKey({ key: "Enter", shiftKey: false, isComposing: false, keyCode: 13 })).toBe(true);
  });
  it("is a new line with Shift", () => {
    expect(isSendKey({ key: "Enter", shiftKey: true, isComposing: false, keyCode: 13 })).toBe(false);
  });
  it("does not send while a Korean syllable is being composed (isComposing)", () => {
    expect(isSendKey({ key: "Enter", shiftKey: false, isComposing: true, keyCode: 13 })).toBe(false);
  });
  it("does not send on keyCode 229 (the IME's keydown in browsers that do not set isComposing)", () => {
    expect(isSendKey({ key: "Enter", shiftKey: false, isComposing: false, keyCode: 229 })).toBe(false);
  });
  it("ignores other keys", () => {
    expect(isSendKey({ key: "a", shiftKey: false })).toBe(false);
  });
});
