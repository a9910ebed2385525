// Stories stream over the user's own channel (docs/protocol.md, "Story progress"): `story.started`
// (a retry's attempt drops the text held for that job), `story.delta` (append in order),
// `story.completed` / `story.failed` (the stored story is then read over REST). Live only: after
// a reconnect the REST copy is the truth.
import type { Story } from "./types";

export interface LiveStory {
  jobId: string;
  attempt: number;
  text: string;
  /** Finished (completed or failed): read the stored story instead. */
  done: boolean;
}

export type StoryEvent =
  | { type: "story.started"; story_id: number; job_id: string; attempt: number; model?: string | null }
  | { type: "story.delta"; story_id: number; job_id: string; attempt: number; text: string }
  | { type: "story.completed"; story_id: number; job_id: string }
  | { type: "story.failed"; story_id: number; job_id: string; reason: string; retryable: boolean };

export type LiveStories = Record<number, LiveStory>;

export function isStoryEvent(e: { type: string }): e is StoryEvent {
  return e.type === "story.started" || e.type === "story.delta" || e.type === "story.completed" || e.type === "story.failed";
}

export function applyStoryEvent(state: LiveStories, e: StoryEvent): LiveStories {
  const cur = state[e.story_id];
  switch (e.type) {
    case "story.started":
      // A new attempt (a retry after a lost worker) starts over; a repeated start of the same one keeps its text.
      if (cur && cur.jobId === e.job_id && cur.attempt === e.attempt) return state;
      return { ...state, [e.story_id]: { jobId: e.job_id, attempt: e.attempt, text: "", done: false } };
    case "story.delta":
      if (cur && (cur.jobId !== e.job_id || cur.attempt > e.attempt || cur.done)) return state; // an older attempt's text
      if (cur && cur.attempt === e.attempt) return { ...state, [e.story_id]: { ...cur, text: cur.text + e.text } };
      // Joined mid-story (no start seen) or a newer attempt: what arrives from here on.
      return { ...state, [e.story_id]: { jobId: e.job_id, attempt: e.attempt, text: e.text, done: false } };
    case "story.completed":
    case "story.failed":
      return { ...state, [e.story_id]: { ...(cur ?? { jobId: e.job_id, attempt: 1, text: "" }), done: true } };
  }
}

/** What to show for a story: the live text while it streams, else the stored content. */
export function storyText(story: Story, live: LiveStory | undefined): string {
  if (live && !live.done && (story.status === "pending" || story.status === "streaming")) return live.text.length >= story.content.length ? live.text : story.content;
  return story.content;
}

export function isRunning(story: Story): boolean {
  return story.status === "pending" || story.status === "streaming";
}
