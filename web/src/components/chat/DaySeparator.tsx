import { useTranslation } from "../../i18n";
import { locale } from "../../i18n";
import { dayLabel } from "../../lib/messageLayout";

/** Above the first message of each day: "Today", "Yesterday" or the date, in the user's language. */
export function DaySeparator({ day }: { day: Date }) {
  const { t } = useTranslation();
  const iso = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
  return (
    <div className="day-separator">
      <time dateTime={iso}>{dayLabel(day, new Date(), locale(), { today: t("time.today"), yesterday: t("time.yesterday") })}</time>
    </div>
  );
}
