// Korean and English. The browser's language picks until the user chooses one (remembered in
// localStorage); API errors are shown by their `code` in the user's language.
//
// Lookup and `{{name}}` interpolation are rosetta's (0.3 KB); this module adds loading a
// language's catalogue on demand (each is its own chunk: only the active one is downloaded),
// `<html lang>`, and a React hook. It replaced i18next + react-i18next (19 KB gzip of the first
// load) to keep the login and chat screens under the 120 KB budget.
import rosetta from "rosetta";
import { useSyncExternalStore } from "react";
import { ApiError, setErrorTranslator } from "../lib/api";
import type { Catalogue } from "./en";
import type { MoreCatalogue } from "./more.en";

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

/** Each catalogue is a chunk of its own, fetched when its language is first used. */
const loaders: Record<Lang, () => Promise<Catalogue>> = {
  en: () => import("./en").then((m) => m.en),
  ko: () => import("./ko").then((m) => m.ko),
};
/** The messages of the screens that load when opened, per language (also chunks of their own). */
const moreLoaders: Record<Lang, () => Promise<MoreCatalogue>> = {
  en: () => import("./more.en").then((m) => m.moreEn),
  ko: () => import("./more.ko").then((m) => m.moreKo),
};

type Params = Record<string, unknown> & { lng?: string };

const table = rosetta<Partial<Catalogue & MoreCatalogue>>();
const loaded = new Map<string, Promise<void>>();
const listeners = new Set<() => void>();
let current: Lang = "en";

function once(key: string, load: () => Promise<void>): Promise<void> {
  let p = loaded.get(key);
  if (!p) {
    p = load();
    p.catch(() => loaded.delete(key)); // a failed download may be tried again
    loaded.set(key, p);
  }
  return p;
}

/** Fetches language `l`'s catalogue once (later calls share the first). */
export function loadLanguage(l: Lang): Promise<void> {
  return once(l, () => loaders[l]().then((c) => table.set(l, c)));
}

/** Fetches the later screens' messages in language `l` once (they join its table). */
export function loadScreenMessages(l: Lang): Promise<void> {
  return once(`${l}+more`, () => moreLoaders[l]().then((c) => table.set(l, c)));
}

/** Set once a later screen was opened: a language switch then fetches its messages too. */
let screensOpened = false;

/** A lazily loaded screen's module, resolved once its messages are there too (for `React.lazy`). */
export function withScreenMessages<T>(module: Promise<T>): Promise<T> {
  screensOpened = true;
  return Promise.all([module, loadScreenMessages(current)]).then(([m]) => m);
}

function lookup(key: string, lng: string): unknown {
  let v: unknown = table.table(lng);
  for (const part of key.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

export const i18n = {
  get language(): Lang {
    return current;
  },
  /** The message `key` in the current language (or `params.lng`); the key itself when missing. */
  t(key: string, params?: Params): string {
    const lng = params?.lng ?? current;
    return typeof lookup(key, lng) === "string" ? table.t(key, params ?? {}, lng) : key;
  },
  exists(key: string, opts: { lng?: string } = {}): boolean {
    return typeof lookup(key, opts.lng ?? current) === "string";
  },
  /** Loads the language's catalogue if needed, then switches every screen to it. */
  async changeLanguage(l: Lang): Promise<void> {
    await Promise.all([loadLanguage(l), screensOpened ? loadScreenMessages(l) : undefined]);
    current = l;
    table.locale(l);
    if (typeof document !== "undefined") document.documentElement.lang = l;
    for (const f of listeners) f();
  },
  subscribe(f: () => void): () => void {
    listeners.add(f);
    return () => listeners.delete(f);
  },
};

export const t = (key: string, params?: Params): string => i18n.t(key, params);

/** The first language, loaded: the app renders after this resolves. */
export const i18nReady: Promise<void> = i18n.changeLanguage(
  pickLanguage(storedLanguage(), typeof navigator === "undefined" ? [] : (navigator.languages ?? [navigator.language])),
);

/** `t` for components: they render again when the language changes. */
export function useTranslation(): { t: typeof t; i18n: typeof i18n } {
  useSyncExternalStore(i18n.subscribe, () => current, () => current);
  return { t, i18n };
}

export function setLanguage(l: Lang) {
  localStorage.setItem(KEY, l);
  void i18n.changeLanguage(l);
}

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
