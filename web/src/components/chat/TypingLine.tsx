// "X is typing…" under the messages; keeps its height when nobody types so nothing jumps.
import { useTranslation } from "../../i18n";

export function TypingLine({ names }: { names: string[] }) {
  const { t } = useTranslation();
  return (
    <div className="typing" aria-live="polite">
      {names.length ? t(names.length > 1 ? "chat.typingMany" : "chat.typingOne", { names: names.join(", ") }) : "\u00a0"}
    </div>
  );
}
