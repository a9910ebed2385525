import { describe, expect, it } from "vitest";
import { applyStoryEvent, isStoryEvent, storyText, type LiveStories } from "../src/lib/storyState";
import type { Story } from "../src/lib/types";

const started = (attempt = 1) => ({ type: "story.started" as const, story_id: 12, job_id: "story-12", attempt, model: "m" });
const delta = (text: string, attempt = 1) => ({ type: "story.delta" as const, story_id: 12, job_id: "story-12", attempt, text });
const run = (...events: Parameters<typeof applyStoryEvent>[1][]) => events.reduce<LiveStories>(applyStoryEvent, {});

function story(status: string, content = ""): Story {
  return { id: 12, title: "t", prompt: "p", character_ids: [], content, status, created_at: "", updated_at: "" };
}

describe("live stories", () => {
  it("appends deltas in order after a start", () => {
    expect(run(started(), delta("Once upon "), delta("a time"))[12]).toEqual({ jobId: "story-12", attempt: 1, text: "Once upon a time", done: false });
  });
  it("a retry's start drops the text held for the earlier attempt, and late deltas of that attempt are ignored", () => {
    const s = run(started(1), delta("Lost text"), started(2), delta("Once", 2), delta(" more", 1));
    expect(s[12].text).toBe("Once");
    expect(s[12].attempt).toBe(2);
  });
  it("a repeated start of the same attempt keeps the text", () => {
    expect(run(started(), delta("Keep"), started())[12].text).toBe("Keep");
  });
  it("deltas without a start (the page opened mid-story) are shown from there", () => {
    expect(run(delta("…the dragon"), delta(" slept"))[12].text).toBe("…the dragon slept");
  });
  it("completion and failure mark it done; no text is added after", () => {
    const s = run(started(), delta("The end"), { type: "story.completed", story_id: 12, job_id: "story-12" }, delta(" and more"));
    expect(s[12]).toMatchObject({ done: true, text: "The end" });
    expect(run({ type: "story.failed", story_id: 12, job_id: "story-12", reason: "Stopped.", retryable: false })[12].done).toBe(true);
  });
  it("recognises only story events", () => {
    expect(isStoryEvent({ type: "story.delta" })).toBe(true);
    expect(isStoryEvent({ type: "friend.request" })).toBe(false);
  });
  it("shows the live text while running and the stored content once finished", () => {
    const live = run(started(), delta("Live words"))[12];
    expect(storyText(story("streaming", "Live"), live)).toBe("Live words");
    expect(storyText(story("complete", "Final words."), live)).toBe("Final words.");
    expect(storyText(story("streaming", "Stored longer text"), live)).toBe("Stored longer text");
    expect(storyText(story("pending"), undefined)).toBe("");
  });
});
