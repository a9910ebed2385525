// A window in older history (a conversation opened at a search hit): what shows, how newer pages
// extend it, and how live messages and a reload behave meanwhile.
import { describe, expect, it } from "vitest";
import { applyEvent, displayItems, emptyChat, mergeNewer, resetAround, resetMessages } from "../src/lib/chatState";
import type { Message } from "../src/lib/types";

function msg(id: number, extra: Partial<Message> = {}): Message {
  return {
    id, conversation_id: 7, author_id: 1, author_username: "alice", character_id: null, role: "user",
    message_type: "text", content: `m${id}`, reply_to_id: null, status: "complete", model: null, prompt_tokens: null,
    completion_tokens: null, client_id: null, job_id: null, created_at: "2026-01-01T00:00:00Z", edited_at: null,
    deleted_at: null, ...extra,
  };
}
const ids = (s: typeof emptyChat) => displayItems(s).map((i) => (i.kind === "message" ? i.message.id : i.key));
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => msg(a + i));

describe("a window around a message", () => {
  it("shows the page up to the hit and the page after it, with both ends open", () => {
    const s = resetAround(emptyChat, range(76, 100), true, range(101, 125), true);
    expect(ids(s)).toEqual(range(76, 125).map((m) => m.id));
    expect(s.hasMore).toBe(true);
    expect(s.newerFrom).toBe(125);
  });

  it("reaches the live end when the page after it is the last", () => {
    const s = resetAround(emptyChat, range(1, 10), false, range(11, 12), false);
    expect(s.newerFrom).toBeNull();
    expect(s.hasMore).toBe(false);
  });

  it("holds live messages past the window without showing them, until newer pages reach them", () => {
    let s = resetAround(emptyChat, range(76, 100), true, range(101, 125), true);
    s = applyEvent(s, { v: 1, type: "message.created", message: msg(900) });
    expect(ids(s)).not.toContain(900);
    s = mergeNewer(s, range(126, 175), true);
    expect(s.newerFrom).toBe(175);
    expect(ids(s).at(-1)).toBe(175);
    s = mergeNewer(s, range(176, 200), false);
    expect(s.newerFrom).toBeNull();
    expect(ids(s).slice(-2)).toEqual([200, 900]);
  });

  it("hides replies streaming at the live end while a window is read", () => {
    let s = resetAround(emptyChat, range(1, 5), false, range(6, 10), true);
    s = applyEvent(s, { v: 1, type: "generation.started", conversation_id: 7, job_id: "j1", attempt: 1, model: "m", character_id: 3 } as never);
    expect(displayItems(s).some((i) => i.kind === "draft")).toBe(false);
    s = mergeNewer(s, range(11, 12), false);
    expect(displayItems(s).some((i) => i.kind === "draft")).toBe(true);
  });

  it("a reload of the latest page drops the window instead of leaving a gap", () => {
    let s = resetAround(emptyChat, range(76, 100), true, range(101, 125), true);
    s = resetMessages(s, range(951, 1000), true);
    expect(s.newerFrom).toBeNull();
    expect(ids(s)).toEqual(range(951, 1000).map((m) => m.id));
    expect(s.hasMore).toBe(true);
  });
});
