import { beforeAll, describe, expect, it } from "vitest";
import { en } from "../src/i18n/en";
import { i18n, i18nReady, loadLanguage, pickLanguage, t, translateError, withScreenMessages } from "../src/i18n";
import { moreEn } from "../src/i18n/more.en";
import { moreKo } from "../src/i18n/more.ko";
import { ko } from "../src/i18n/ko";
import { ApiError, errorText } from "../src/lib/api";

function keys(o: object, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

describe("language choice", () => {
  it("keeps the user's choice over the browser's", () => {
    expect(pickLanguage("en", ["ko-KR", "ko"])).toBe("en");
    expect(pickLanguage("ko", ["en-US"])).toBe("ko");
  });
  it("takes the first browser language it has, else English", () => {
    expect(pickLanguage(null, ["ko-KR", "en-US"])).toBe("ko");
    expect(pickLanguage(null, ["fr-FR", "en-GB", "ko"])).toBe("en");
    expect(pickLanguage(null, ["ja-JP"])).toBe("en");
    expect(pickLanguage("de", [])).toBe("en");
  });
});

describe("loading catalogues", () => {
  // First in the file: nothing else has asked for Korean yet.
  it("downloads only the active language's catalogue; the other when it is first used", async () => {
    await i18nReady;
    expect(i18n.language).toBe("en");
    expect(i18n.exists("nav.chats", { lng: "en" })).toBe(true);
    expect(i18n.exists("nav.chats", { lng: "ko" })).toBe(false);
    await loadLanguage("ko");
    expect(i18n.exists("nav.chats", { lng: "ko" })).toBe(true);
    expect(i18n.language).toBe("en");
  });
  it("fetches the later screens' messages with the first of those screens, and after a switch in the new language", async () => {
    expect(i18n.exists("admin.overview", { lng: "en" })).toBe(false);
    const screen = await withScreenMessages(Promise.resolve("the page module"));
    expect(screen).toBe("the page module");
    expect(t("admin.overview")).toBe("Overview");
    expect(t("nav.chats")).toBe("Chats"); // the first catalogue is still there
    expect(i18n.exists("admin.overview", { lng: "ko" })).toBe(false);
    await i18n.changeLanguage("ko");
    expect(t("admin.overview")).toBe(moreKo.admin.overview);
    await i18n.changeLanguage("en");
  });
  it("switches language after loading it, and tells subscribers", async () => {
    let told = 0;
    const off = i18n.subscribe(() => told++);
    await i18n.changeLanguage("ko");
    expect(t("nav.chats")).toBe(ko.nav.chats);
    await i18n.changeLanguage("en");
    off();
    expect(told).toBe(2);
    expect(t("nav.chats")).toBe("Chats");
  });
  it("fills in {{placeholders}} and gives the key back for a missing message", () => {
    expect(t("chats.unread", { count: 3 })).toBe("3 unread");
    expect(t("chats.unread", { lng: "ko", count: 3 })).toBe("읽지 않은 메시지 3개");
    expect(t("nav.noSuchKey")).toBe("nav.noSuchKey");
    expect(t("nav")).toBe("nav"); // a group, not a message
  });
});

describe("catalogues", () => {
  it("Korean has every English message", () => {
    const missing = keys(en).filter((k) => !keys(ko).includes(k));
    expect(missing).toEqual([]);
    const missingLater = keys(moreEn).filter((k) => !keys(moreKo).includes(k));
    expect(missingLater).toEqual([]);
  });
  it("the first screens' catalogue and the later screens' share no group", () => {
    expect(Object.keys(en).filter((g) => g in moreEn)).toEqual([]);
  });
  it("Korean has a message for every error code of the API", () => {
    for (const code of ["validation", "unauthorized", "forbidden", "not_found", "conflict", "payload_too_large", "rate_limited", "unavailable", "internal", "network"]) {
      expect(ko.errors[code], code).toBeTruthy();
    }
  });
});

describe("API errors in the user's language", () => {
  beforeAll(() => loadLanguage("ko"));
  const wrong = new ApiError(401, "unauthorized", "wrong username or password");
  it("in Korean, says the code's message and keeps the API's field messages", () => {
    expect(translateError(wrong, "ko")).toBe("로그인 정보가 올바르지 않거나 로그인이 필요합니다.");
    const v = new ApiError(422, "validation", "invalid input", [{ field: "content", message: "must be at most 2000 characters" }]);
    expect(translateError(v, "ko")).toBe("입력한 내용을 확인해 주세요. — content: must be at most 2000 characters");
    expect(translateError(new ApiError(429, "rate_limited", "slow down", [], 7), "ko")).toBe("요청이 너무 많습니다. 7초 후에 다시 시도하세요.");
  });
  it("in English, keeps the API's own detail, except for a network failure", () => {
    expect(translateError(wrong, "en")).toBeNull();
    expect(translateError(new ApiError(0, "network", "cannot reach the server"), "en")).toBe("Cannot reach the server; check your connection.");
  });
  it("falls back to the API's detail for a code without a message", () => {
    expect(translateError(new ApiError(400, "teapot", "short and stout"), "ko")).toBeNull();
  });
  it("errorText follows the current language", async () => {
    await i18n.changeLanguage("ko");
    expect(errorText(wrong)).toBe("로그인 정보가 올바르지 않거나 로그인이 필요합니다.");
    await i18n.changeLanguage("en");
    expect(errorText(wrong)).toBe("wrong username or password");
  });
});
