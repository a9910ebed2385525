// Editing a message in place; on one's own message in an AI chat, "save and rerun" too (a new
// branch from the edited text, with a new reply).
import { Suspense, useState } from "react";
import { useTranslation } from "../../i18n";
import { charCount } from "../../lib/chatState";
import { Counter } from "./Counter";
import { RerunButton } from "./treeLazy";

export function EditBox({ initial, limit, onCancel, onSave, onRerun }: { initial: string; limit: number; onCancel(): void; onSave(t: string): void; onRerun?: (t: string) => void }) {
  const [text, setText] = useState(initial);
  const { t } = useTranslation();
  const over = charCount(text) > limit;
  return (
    <form
      className="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (!over && text.trim()) onSave(text);
      }}
    >
      <label className="sr-only" htmlFor="edit-message">
        {t("chat.editMessage")}
      </label>
      <textarea id="edit-message" value={text} onChange={(e) => setText(e.target.value)} autoFocus rows={3} onKeyDown={(e) => e.key === "Escape" && onCancel()} />
      <div className="row">
        <Counter value={text} limit={limit} />
        <span className="grow" />
        <button type="button" className="ghost small" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button type="submit" className="primary small" disabled={over || !text.trim()}>
          {t("common.save")}
        </button>
        {onRerun && (
          <Suspense fallback={null}>
            <RerunButton t={t} disabled={over || !text.trim()} onClick={() => onRerun(text)} />
          </Suspense>
        )}
      </div>
    </form>
  );
}
