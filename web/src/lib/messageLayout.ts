// How the message list reads: a date separator before the first message of each day (in the
// user's time zone and language), and consecutive messages from one author grouped (the name and
// avatar shown once), as long as they are on the same day and close together in time.
import type { DisplayItem } from "./chatState";

/** Messages further apart than this start a new group even from the same author. */
export const GROUP_GAP_MS = 5 * 60_000;

export interface LaidOut {
  item: DisplayItem;
  /** Set on the first item of a day: that day (local midnight) for the separator above it. */
  day: Date | null;
  /** Continues the group of the item before it: no name or avatar of its own. */
  grouped: boolean;
}

/** Who wrote an item, for grouping; null for system messages (they never group). */
function authorOf(item: DisplayItem, me: number): string | null {
  if (item.kind === "pending") return `u${me}`;
  if (item.kind === "draft") return `c${item.draft.characterId ?? "ai"}`;
  const m = item.message;
  if (m.role === "system" || m.message_type === "system") return null;
  if (m.role === "assistant") return `c${m.character_id ?? "ai"}`;
  return `u${m.author_id ?? "?"}`;
}

/** When an item was written (a reply streaming before its row is known: `now`). */
function timeOf(item: DisplayItem, now: number): number {
  if (item.kind === "message") return Date.parse(item.message.created_at);
  return item.kind === "pending" ? Date.parse(item.pending.createdAt) : now;
}

function startOfDay(t: number): Date {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

export function layoutMessages(items: DisplayItem[], me: number, now: number = Date.now()): LaidOut[] {
  const out: LaidOut[] = [];
  let prevAuthor: string | null = null;
  let prevTime = 0;
  let prevDay = -1;
  for (const item of items) {
    const time = timeOf(item, now);
    const day = startOfDay(time);
    const newDay = day.getTime() !== prevDay;
    const author = authorOf(item, me);
    const grouped = !newDay && author !== null && author === prevAuthor && time - prevTime <= GROUP_GAP_MS;
    out.push({ item, day: newDay ? day : null, grouped });
    prevAuthor = author;
    prevTime = time;
    prevDay = day.getTime();
  }
  return out;
}

/**
 * The separator's words for `day`: "today" and "yesterday" from the catalogue, else the full date
 * in the user's locale (with the year only when it is not this year).
 */
export function dayLabel(day: Date, now: Date, locale: string, words: { today: string; yesterday: string }): string {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const diff = Math.round((today.getTime() - day.getTime()) / 86_400_000);
  if (diff === 0) return words.today;
  if (diff === 1) return words.yesterday;
  return day.toLocaleDateString(locale, {
    weekday: "long",
    month: "long",
    day: "numeric",
    year: day.getFullYear() === now.getFullYear() ? undefined : "numeric",
  });
}
