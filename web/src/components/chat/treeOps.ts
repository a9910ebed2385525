// The conversation tree's actions, loaded with its controls: choose a version or branch, continue
// the last reply, save an edit and rerun, branch into a new chat.
import { ApiError } from "../../lib/api";
import type { ChatState } from "../../lib/chatState";
import * as ep from "../../lib/endpoints";
import { navigate } from "../../lib/router";
import { startContinue } from "../../lib/treeState";
import type { Message } from "../../lib/types";

export interface TreeCtx {
  app: ep.Clients;
  id: number;
  setState(f: (s: ChatState) => ChatState): void;
  setError(e: unknown): void;
  reload(path?: boolean): Promise<void>;
  follow(): void;
}

/** Makes the `index`-th sibling of `m` active (a swipe, a greeting, a branch). */
export async function selectVariant(c: TreeCtx, m: Message, index: number) {
  try {
    await ep.selectVariant(c.app, c.id, m.id, index);
    await c.reload(true);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 409)) c.setError(e);
  }
}

/** More text onto the end of the last AI reply. */
export async function continueReply(c: TreeCtx, m: Message) {
  try {
    const r = await ep.continueReply(c.app, c.id, m.id);
    c.follow();
    c.setState((s) => startContinue(s, m.id, r.job_id));
  } catch (e) {
    c.setError(e);
  }
}

/** "Save and rerun": true when the new branch was started. */
export async function rerun(c: TreeCtx, m: Message, content: string): Promise<boolean> {
  try {
    await ep.rerun(c.app, c.id, m.id, content);
    c.follow();
    await c.reload(true);
    return true;
  } catch (e) {
    c.setError(e);
    return false;
  }
}

/** A new chat with the path up to `m`, opened at once. */
export async function branch(c: TreeCtx, m: Message) {
  try {
    const conv = await ep.branch(c.app, c.id, m.id);
    navigate(`/chats/${conv.id}`);
  } catch (e) {
    c.setError(e);
  }
}
