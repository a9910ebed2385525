// Korean and English. The browser's language picks until the user chooses one (remembered in
// localStorage); API errors are shown by their `code` in the user's language.
import i18next from "i18next";
import { initReactI18next } from "react-i18next";
import { ApiError, setErrorTranslator } from "../lib/api";
import { en } from "./en";
import { ko } from "./ko";

export const LANGUAGES = [
  ["ko", "한국어"],
  ["en", "English"],
] as const;
export type Lang = (typeof LANGUAGES)[number][0];
const KEY = "chat.lang";

/** The remembered choice, else the first browser language we have, else English. */
export function pickLanguage(stored: string | null, browser: readonly string[]): Lang {
  if (stored === "ko" || stored === "en") return stored;
  for (const l of browser) {
    const base = l.toLowerCase().split("-")[0];
    if (base === "ko" || base === "en") return base;
  }
  return "en";
}

function storedLanguage(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, ko: { translation: ko } },
  lng: pickLanguage(storedLanguage(), typeof navigator === "undefined" ? [] : navigator.languages ?? [navigator.language]),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes
  initAsync: false,
});

function applyLang(l: string) {
  if (typeof document !== "undefined") document.documentElement.lang = l;
}
applyLang(i18n.language);
i18n.on("languageChanged", applyLang);

export function setLanguage(l: Lang) {
  localStorage.setItem(KEY, l);
  void i18n.changeLanguage(l);
}

export const t = i18n.t.bind(i18n);

/** The user's locale for dates and numbers. */
export function locale(): string {
  return i18n.language === "ko" ? "ko-KR" : "en";
}

/**
 * An API error in language `lng`: the message for its `code` from the catalogue, the API's field
 * messages after it, and when to retry. English keeps the API's own (English, more specific)
 * detail, except for a network failure. Null: no message for that code (the detail is shown).
 */
export function translateError(e: ApiError, lng: string): string | null {
  const key = `errors.${e.code}`;
  if (lng.startsWith("en") && e.code !== "network") return null;
  if (!i18n.exists(key, { lng })) return null;
  const fields = e.errors.map((f) => `${f.field}: ${f.message}`);
  const retry = e.code === "rate_limited" && e.retryAfter ? ` ${i18n.t("errors.retryIn", { lng, seconds: e.retryAfter })}` : "";
  return [i18n.t(key, { lng }), ...fields].join(" — ") + retry;
}

setErrorTranslator((e) => translateError(e, i18n.language));
