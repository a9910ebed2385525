// Characters typed / the limit (Hangul syllables count as one), warning near and over it.
import { useTranslation } from "../../i18n";
import { charCount } from "../../lib/chatState";

export function Counter({ value, limit }: { value: string; limit: number }) {
  const n = charCount(value);
  const { t } = useTranslation();
  return (
    <span className={`counter${n > limit ? " over" : n > limit * 0.9 ? " near" : ""}`} aria-live="polite" title={t("chat.limitTitle")}>
      {n} / {limit}
    </span>
  );
}
