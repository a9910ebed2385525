// The controls of a conversation as a tree, loaded after the chat's first paint (with the screen
// messages): the arrows and `2/5` counter of a turn with siblings (the versions of an AI turn, its
// greetings on a new chat, or the branches of a person's message), the AI reply's actions
// (continue, edit, branch from here) and "save and rerun" in the edit box.
import type { useTranslation } from "../../i18n";
import type { Message } from "../../lib/types";
import type { BubbleActions } from "./MessageRow";

/** The caller's translate function (importing the i18n module here would split it out of the first load). */
type T = ReturnType<typeof useTranslation>["t"];

export function ForkNav({ t, index, count, disabled, onSelect, onNew }: { t: T; index: number; count: number; disabled?: boolean; onSelect(i: number): void; onNew?: () => void }) {
  const atEnd = index >= count - 1;
  return (
    <span className="fork-nav" role="group" aria-label={t("tree.variantCount", { n: index + 1, count })}>
      <button type="button" className="link" disabled={disabled || index <= 0} onClick={() => onSelect(index - 1)} aria-label={t("tree.prevVariant")}>
        ‹
      </button>
      {count > 1 && <span className="fork-count" aria-hidden="true">{`${index + 1}/${count}`}</span>}
      <button
        type="button"
        className="link"
        disabled={disabled || (atEnd && !onNew)}
        onClick={() => (atEnd ? onNew?.() : onSelect(index + 1))}
        aria-label={atEnd && onNew ? t("tree.newVariant") : t("tree.nextVariant")}
      >
        ›
      </button>
    </span>
  );
}

export function BranchButton({ t, onClick }: { t: T; onClick(): void }) {
  return (
    <button type="button" className="link" onClick={onClick} title={t("tree.branchTitle")}>
      {t("tree.branchHere")}
    </button>
  );
}

/** An AI reply's actions: continue (the last one), edit, branch from here. */
export function AiActions({ t, canContinue, onContinue, onEdit, onBranch }: { t: T; canContinue: boolean; onContinue(): void; onEdit(): void; onBranch(): void }) {
  return (
    <span className="msg-actions">
      {canContinue && (
        <button type="button" className="link" onClick={onContinue} title={t("tree.continueTitle")}>
          {t("tree.continueReply")}
        </button>
      )}
      <button type="button" className="link" onClick={onEdit} aria-label={t("tree.editReply")}>
        {t("chat.edit")}
      </button>
      <BranchButton t={t} onClick={onBranch} />
    </span>
  );
}

export function RerunButton({ t, disabled, onClick }: { t: T; disabled: boolean; onClick(): void }) {
  return (
    <button type="button" className="small" disabled={disabled} onClick={onClick}>
      {t("tree.saveRerun")}
    </button>
  );
}

/** The versions of an AI turn one step left or right; right past the last one of the last turn
 * writes a new one (in the viewer's AI chat). */
export function swipe(m: Message, dir: number, last: boolean, tree: boolean, a: BubbleActions) {
  const fork = m.fork ?? { index: 0, count: 1 };
  const i = fork.index + dir;
  if (i >= 0 && i < fork.count) a.onSelectVariant?.(m, i);
  else if (i >= fork.count && last && tree) a.onRegenerate?.();
}

/** ← → anywhere but in a text field: the last AI turn's versions. */
export function onKey(e: KeyboardEvent, m: Message | undefined, busy: boolean, tree: boolean, a: BubbleActions) {
  const el = e.target as HTMLElement | null;
  if (el?.closest?.("input, textarea, select, [contenteditable]")) return;
  if (!m || m.role !== "assistant" || busy || m.status === "streaming") return;
  swipe(m, e.key === "ArrowRight" ? 1 : -1, true, tree, a);
}

/** An AI reply's controls: its versions and its actions. */
export function AiTools({ t, m, last, tree, settled, a }: { t: T; m: Message; last: boolean; tree: boolean; settled: boolean; a: BubbleActions }) {
  const fork = m.fork ?? (last && tree ? { index: 0, count: 1 } : null);
  return (
    <>
      {fork && (
        <ForkNav t={t} index={fork.index} count={fork.count} disabled={!settled} onSelect={(i) => a.onSelectVariant?.(m, i)} onNew={last && tree ? a.onRegenerate : undefined} />
      )}
      {tree && settled && (
        <AiActions t={t} canContinue={last && m.status !== "failed"} onContinue={() => a.onContinue?.(m)} onEdit={() => a.onEdit(m)} onBranch={() => a.onBranch?.(m)} />
      )}
    </>
  );
}
