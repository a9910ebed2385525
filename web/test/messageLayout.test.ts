import { describe, expect, it } from "vitest";
import type { DisplayItem } from "../src/lib/chatState";
import { GROUP_GAP_MS, dayLabel, layoutMessages } from "../src/lib/messageLayout";
import type { Message } from "../src/lib/types";

const ME = 1;
let nextId = 1;
/** A stored message at local time `at` (dates are built in the machine's time zone, as the app shows them). */
function msg(at: Date, who: { user?: number; character?: number; system?: boolean }): DisplayItem {
  const m: Message = {
    id: nextId++,
    conversation_id: 1,
    author_id: who.user ?? null,
    author_username: who.user ? `user${who.user}` : null,
    character_id: who.character ?? null,
    role: who.system ? "system" : who.character ? "assistant" : "user",
    message_type: who.system ? "system" : "text",
    content: "x",
    status: "complete",
    created_at: at.toISOString(),
  };
  return { kind: "message", key: `m${m.id}`, message: m, draft: null };
}
const at = (d: number, h: number, min = 0) => new Date(2026, 11, d, h, min);
const shape = (items: DisplayItem[], now?: number) => layoutMessages(items, ME, now).map((l) => `${l.day ? `[${l.day.getDate()}] ` : ""}${l.grouped ? "+" : "•"}`);

describe("grouping consecutive messages", () => {
  it("groups one author's messages in a row and starts a new group at another author", () => {
    const items = [msg(at(3, 10, 0), { user: 2 }), msg(at(3, 10, 1), { user: 2 }), msg(at(3, 10, 2), { user: 3 }), msg(at(3, 10, 3), { user: 2 })];
    expect(shape(items)).toEqual(["[3] •", "+", "•", "•"]);
  });
  it("keeps an AI character's replies apart from a person's and from another character's", () => {
    const items = [msg(at(3, 10, 0), { character: 7 }), msg(at(3, 10, 0), { character: 7 }), msg(at(3, 10, 1), { character: 8 }), msg(at(3, 10, 1), { user: 2 })];
    expect(shape(items)).toEqual(["[3] •", "+", "•", "•"]);
  });
  it("starts a new group after a pause longer than the gap", () => {
    const start = at(3, 10, 0);
    const later = new Date(start.getTime() + GROUP_GAP_MS + 1000);
    const justIn = new Date(start.getTime() + GROUP_GAP_MS);
    expect(shape([msg(start, { user: 2 }), msg(later, { user: 2 })])).toEqual(["[3] •", "•"]);
    expect(shape([msg(start, { user: 2 }), msg(justIn, { user: 2 })])).toEqual(["[3] •", "+"]);
  });
  it("never groups system messages, nor across them", () => {
    const items = [msg(at(3, 10, 0), { user: 2 }), msg(at(3, 10, 0), { system: true }), msg(at(3, 10, 0), { system: true }), msg(at(3, 10, 1), { user: 2 })];
    expect(shape(items)).toEqual(["[3] •", "•", "•", "•"]);
  });
  it("a message being sent joins my group; a streaming reply joins its character's", () => {
    const now = at(3, 10, 2).getTime();
    const pending: DisplayItem = { kind: "pending", key: "pc1", pending: { clientId: "c1", content: "hi", createdAt: new Date(now).toISOString(), error: null } };
    const draft: DisplayItem = { kind: "draft", key: "dj", draft: { jobId: "j", text: "", attempt: 1, model: null, characterId: 7, partial: false, failed: null } };
    expect(shape([msg(at(3, 10, 1), { user: ME }), pending], now)).toEqual(["[3] •", "+"]);
    expect(shape([msg(at(3, 10, 1), { character: 7 }), draft], now)).toEqual(["[3] •", "+"]);
  });
});

describe("date separators", () => {
  it("marks the first message of each local day, and breaks a group at midnight", () => {
    const items = [msg(at(2, 23, 58), { user: 2 }), msg(at(3, 0, 1), { user: 2 }), msg(at(3, 9), { user: 2 }), msg(at(5, 9), { user: 2 })];
    const laid = layoutMessages(items, ME);
    expect(shape(items)).toEqual(["[2] •", "[3] •", "•", "[5] •"]);
    expect(laid[1].day).toEqual(new Date(2026, 11, 3));
  });
  const words = { today: "T", yesterday: "Y" };
  const now = new Date(2026, 11, 3, 15, 0);
  it("says today and yesterday in words", () => {
    expect(dayLabel(new Date(2026, 11, 3), now, "en", words)).toBe("T");
    expect(dayLabel(new Date(2026, 11, 2), now, "en", words)).toBe("Y");
  });
  it("writes other days in the user's locale, with the year only for another year", () => {
    expect(dayLabel(new Date(2026, 10, 30), now, "en", words)).toBe("Monday, November 30");
    expect(dayLabel(new Date(2026, 10, 30), now, "ko-KR", words)).toBe("11월 30일 월요일");
    expect(dayLabel(new Date(2025, 0, 5), now, "en", words)).toBe("Sunday, January 5, 2025");
    expect(dayLabel(new Date(2025, 0, 5), now, "ko-KR", words)).toBe("2025년 1월 5일 일요일");
  });
});
