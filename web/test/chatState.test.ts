import { describe, expect, it } from "vitest";
import {
  activeJob, addPending, applyEvent, charCount, displayItems, emptyChat, limitFromError, mergeMessages, replacePath, resetMessages,
} from "../src/lib/chatState";
import { startContinue } from "../src/lib/treeState";
import type { Message } from "../src/lib/types";

function msg(id: number, content: string, extra: Partial<Message> = {}): Message {
  return {
    id, conversation_id: 7, author_id: 1, author_username: "alice", character_id: null, role: "user",
    message_type: "text", content, reply_to_id: null, status: "complete", model: null, prompt_tokens: null,
    completion_tokens: null, client_id: null, job_id: null, created_at: "2026-01-01T00:00:00Z", edited_at: null,
    deleted_at: null, ...extra,
  };
}

const texts = (s: typeof emptyChat) =>
  displayItems(s).map((i) =>
    i.kind === "message" ? (i.draft ? `~${i.draft.text}` : i.message.content) : i.kind === "draft" ? `~${i.draft.text}` : `?${i.pending.content}`,
  );

describe("chat state", () => {
  it("dedupes messages by id whatever the order of REST pages and events", () => {
    let s = mergeMessages(emptyChat, [msg(2, "b"), msg(3, "c")], true);
    s = applyEvent(s, { v: 1, type: "message.created", message: msg(4, "d") });
    s = applyEvent(s, { v: 1, type: "message.created", message: msg(3, "c") });
    s = mergeMessages(s, [msg(1, "a"), msg(2, "b")], false);
    s = resetMessages(s, [msg(2, "b"), msg(3, "c"), msg(4, "d")], false);
    expect(texts(s)).toEqual(["a", "b", "c", "d"]);
    expect(s.hasMore).toBe(false);
  });

  it("keeps messages that arrived live after a reload's page was read", () => {
    let s = mergeMessages(emptyChat, [msg(1, "a")]);
    s = applyEvent(s, { v: 1, type: "message.created", message: msg(5, "live") });
    s = resetMessages(s, [msg(1, "a"), msg(2, "b")], false);
    expect(texts(s)).toEqual(["a", "b", "live"]);
  });

  it("streams a reply token by token and replaces it with the completed message", () => {
    let s = mergeMessages(emptyChat, [msg(1, "hi")]);
    s = applyEvent(s, { v: 1, type: "generation.started", job_id: "j1", attempt: 1, model: "mock/echo", character_id: 3 });
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j1", attempt: 1, text: "Hel" });
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j1", attempt: 1, text: "lo" });
    expect(texts(s)).toEqual(["hi", "~Hello"]);
    expect(activeJob(s)).toBe("j1");
    const final = msg(2, "Hello!", { role: "assistant", author_id: null, job_id: "j1", character_id: 3 });
    s = applyEvent(s, { v: 1, type: "message.completed", job_id: "j1", message: final, usage: { prompt_tokens: 1, completion_tokens: 2 } });
    expect(texts(s)).toEqual(["hi", "Hello!"]);
    expect(activeJob(s)).toBeNull();
    // A late duplicate delta does not resurrect the draft.
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j1", attempt: 1, text: "lo" });
    expect(texts(s)).toEqual(["hi", "Hello!"]);
  });

  it("shows the streaming placeholder row with the live text", () => {
    const placeholder = msg(2, "", { role: "assistant", status: "streaming", job_id: "j1" });
    let s = mergeMessages(emptyChat, [msg(1, "hi"), placeholder]);
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j1", attempt: 1, text: "tail" });
    expect(texts(s)).toEqual(["hi", "~tail"]);
    expect(s.drafts.j1.partial).toBe(true);
    // A stale reload (still streaming) does not replace a completed row.
    s = applyEvent(s, { v: 1, type: "message.completed", job_id: "j1", message: { ...placeholder, content: "full tail", status: "complete" }, usage: { prompt_tokens: 0, completion_tokens: 0 } });
    s = resetMessages(s, [msg(1, "hi"), placeholder], false);
    expect(texts(s)).toEqual(["hi", "full tail"]);
  });

  it("drops the deltas of an abandoned attempt when a retry starts", () => {
    let s = applyEvent(emptyChat, { v: 1, type: "generation.started", job_id: "j", attempt: 1, model: "m", character_id: null });
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j", attempt: 1, text: "Once upon" });
    s = applyEvent(s, { v: 1, type: "generation.started", job_id: "j", attempt: 2, model: "m", character_id: null });
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j", attempt: 1, text: " a time" });
    s = applyEvent(s, { v: 1, type: "delta", job_id: "j", attempt: 2, text: "Long ago" });
    expect(texts(s)).toEqual(["~Long ago"]);
  });

  it("marks a failed reply and keeps its reason", () => {
    let s = applyEvent(emptyChat, { v: 1, type: "generation.started", job_id: "j", attempt: 1, model: "m", character_id: null });
    s = applyEvent(s, { v: 1, type: "message.failed", job_id: "j", reason: "provider down", retryable: true });
    expect(s.drafts.j.failed).toBe("provider down");
    expect(activeJob(s)).toBeNull();
  });

  it("applies edits and deletions; a deleted message never comes back", () => {
    let s = mergeMessages(emptyChat, [msg(1, "a"), msg(2, "b")]);
    s = applyEvent(s, { v: 1, type: "message.edited", message: msg(1, "a2", { edited_at: "2026-01-01T00:01:00Z" }) });
    s = applyEvent(s, { v: 1, type: "message.deleted", conversation_id: 7, message_id: 2 });
    s = mergeMessages(s, [msg(1, "a"), msg(2, "b")]);
    expect(texts(s)).toEqual(["a2"]);
  });

  it("replaces an optimistic send by the stored message with the same client_id", () => {
    let s = addPending(emptyChat, "cid", "hello");
    expect(texts(s)).toEqual(["?hello"]);
    s = applyEvent(s, { v: 1, type: "message.created", message: msg(4, "hello", { client_id: "cid" }) });
    expect(texts(s)).toEqual(["hello"]);
  });

  it("counts characters as the server does and reads the limit from a 422", () => {
    expect(charCount("héllo😀")).toBe(6);
    expect(limitFromError("content: must be at most 200 characters (got 250)")).toBe(200);
    expect(limitFromError("something else")).toBeNull();
  });
});

describe("conversation tree", () => {
  it("keeps a message's place among its siblings when an event replaces it", () => {
    let s = mergeMessages(emptyChat, [msg(2, "", { role: "assistant", status: "streaming", job_id: "j", fork: { index: 1, count: 2 } })]);
    s = applyEvent(s, { v: 1, type: "message.completed", job_id: "j", message: msg(2, "done", { role: "assistant", job_id: "j" }), usage: { prompt_tokens: 1, completion_tokens: 1 } });
    expect(s.messages[0].fork).toEqual({ index: 1, count: 2 });
  });

  it("replaces the path: messages of the old branch go, even newer ones", () => {
    let s = mergeMessages(emptyChat, [msg(1, "hi"), msg(2, "old", { role: "assistant" }), msg(9, "new variant", { role: "assistant" })]);
    s = addPending(s, "c1", "sending");
    s = replacePath(s, [msg(1, "hi"), msg(2, "old", { role: "assistant" })], false);
    expect(texts(s)).toEqual(["hi", "old", "?sending"]);
  });

  it("continues a reply: held text first, the continuation's deltas after, then the whole reply", () => {
    let s = mergeMessages(emptyChat, [msg(1, "hi"), msg(2, "Once", { role: "assistant", job_id: "reply-1" })]);
    s = applyEvent(s, { v: 1, type: "generation.started", job_id: "cont-2", attempt: 1, model: "m", character_id: null });
    s = applyEvent(s, { v: 1, type: "delta", job_id: "cont-2", attempt: 1, text: " upon" });
    s = startContinue(s, 2, "cont-2");
    s = applyEvent(s, { v: 1, type: "delta", job_id: "cont-2", attempt: 1, text: " a time" });
    expect(texts(s)).toEqual(["hi", "~Once upon a time"]);
    expect(activeJob(s)).toBe("cont-2");
    s = applyEvent(s, {
      v: 1, type: "message.completed", job_id: "cont-2",
      message: msg(2, "Once upon a time.", { role: "assistant", job_id: "cont-2" }), usage: { prompt_tokens: 1, completion_tokens: 1 },
    });
    expect(texts(s)).toEqual(["hi", "Once upon a time."]);
    expect(activeJob(s)).toBeNull();
  });
});
