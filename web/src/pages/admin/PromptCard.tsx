// One common prompt: edit its text, enable/disable, move up/down, delete.
import { useEffect, useState } from "react";
import type { CommonPrompt } from "../../lib/types";
import { useTranslation } from "../../i18n";
import { Field } from "../../ui";

export function PromptCard(props: {
  prompt: CommonPrompt;
  busy: boolean;
  first: boolean;
  last: boolean;
  onSave: (patch: Partial<Pick<CommonPrompt, "name" | "content" | "is_enabled">>) => Promise<boolean>;
  onDelete: () => void;
  onMove: (by: -1 | 1) => void;
}) {
  const { prompt: p, busy } = props;
  const { t } = useTranslation();
  const [content, setContent] = useState(p.content);
  // Shown at once; put back if the change is refused.
  const [enabled, setEnabled] = useState(p.is_enabled);
  // A saved prompt brings its stored values (an unsaved edit of the text is kept otherwise).
  useEffect(() => setContent(p.content), [p.content]);
  useEffect(() => setEnabled(p.is_enabled), [p.is_enabled]);
  const changed = content !== p.content && content.trim() !== "";
  const toggle = async (on: boolean) => {
    setEnabled(on);
    if (!(await props.onSave({ is_enabled: on }))) setEnabled(!on);
  };
  return (
    <li className="card stack" aria-label={t("admin.promptItem", { name: p.name })}>
      <div className="row spread">
        <strong>{p.name}</strong>
        <label className="row small">
          <input type="checkbox" checked={enabled} disabled={busy} onChange={(e) => void toggle(e.target.checked)} /> {t("admin.enabled")}
        </label>
      </div>
      <Field label={t("admin.textOf", { name: p.name })} multiline rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
      <div className="row">
        <button type="button" className="primary small" disabled={busy || !changed} onClick={() => void props.onSave({ content })}>
          {t("common.save")}
        </button>
        <button type="button" className="small" disabled={busy || props.first} onClick={() => props.onMove(-1)} aria-label={t("admin.moveUp", { name: p.name })}>
          {t("admin.up")}
        </button>
        <button type="button" className="small" disabled={busy || props.last} onClick={() => props.onMove(1)} aria-label={t("admin.moveDown", { name: p.name })}>
          {t("admin.down")}
        </button>
        <button type="button" className="danger small" disabled={busy} onClick={props.onDelete}>
          {t("admin.delete")}
        </button>
      </div>
    </li>
  );
}
