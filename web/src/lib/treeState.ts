// Conversation-tree changes to the chat state that only the tree's controls (loaded later) need.
import type { ChatState, Draft } from "./chatState";

/** Continue started on an AI reply: it streams again, its held text first, the job's deltas after. */
export function startContinue(state: ChatState, messageId: number, jobId: string): ChatState {
  const m = state.messages.find((x) => x.id === messageId);
  if (!m || m.job_id === jobId) return state;
  const d = state.drafts[jobId];
  const draft: Draft = {
    jobId, text: m.content + (d?.text ?? ""), attempt: d?.attempt ?? 1, model: d?.model ?? m.model ?? null,
    characterId: m.character_id ?? null, partial: false, failed: null,
  };
  return {
    ...state,
    messages: state.messages.map((x) => (x.id === messageId ? { ...x, status: "streaming" as const, job_id: jobId } : x)),
    drafts: { ...state.drafts, [jobId]: draft },
  };
}
