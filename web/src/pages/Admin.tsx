// The administrators' dashboard over admin-stats: overview charts, users (search, detail,
// activate/deactivate, role), a user's conversations and usage, the live real-time tier, and the
// common prompts every AI conversation's system prompt starts with (api-service /prompts).
// Each tab is its own component in pages/admin/.
import { navigate } from "../lib/router";
import { useTranslation } from "../i18n";
import { Tabs } from "../ui";
import { OverviewTab } from "./admin/OverviewTab";
import { Users } from "./admin/Users";
import { UserDetail } from "./admin/UserDetail";
import { Live } from "./admin/Live";
import { Prompts } from "./admin/Prompts";

type Tab = "overview" | "users" | "live" | "prompts";

export function AdminPage({ userId, tab }: { userId: number | null; tab: string }) {
  const { t } = useTranslation();
  const current: Tab = userId ? "users" : tab === "users" || tab === "live" || tab === "prompts" ? tab : "overview";
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("nav.admin")}</h1>
      </div>
      <Tabs
        label={t("admin.sections")}
        value={current}
        onChange={(v) => navigate(v === "overview" ? "/admin" : `/admin/${v}`)}
        tabs={[
          ["overview", t("admin.overview")],
          ["users", t("admin.users")],
          ["live", t("admin.live")],
          ["prompts", t("admin.prompts")],
        ]}
      />
      {userId ? (
        <UserDetail id={userId} />
      ) : current === "users" ? (
        <Users />
      ) : current === "live" ? (
        <Live />
      ) : current === "prompts" ? (
        <Prompts />
      ) : (
        <OverviewTab />
      )}
    </div>
  );
}
