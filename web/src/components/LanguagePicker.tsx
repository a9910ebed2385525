import { useTranslation } from "../i18n";
import { LANGUAGES, setLanguage, type Lang } from "../i18n";
import { Select } from "../ui";

/** Switches the app's language; the choice is remembered. */
export function LanguagePicker() {
  const { t, i18n } = useTranslation();
  return <Select label={t("common.language")} value={i18n.language} onChange={(v) => setLanguage(v as Lang)} options={LANGUAGES.map(([code, name]) => [code, name])} />;
}
