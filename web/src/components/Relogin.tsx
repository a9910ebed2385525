// The session ended (the refresh token was refused): the password, asked over the current screen
// so nothing typed is lost; or log out.
import { useState } from "react";
import { useApp } from "../appContext";
import { useTranslation } from "../i18n";
import type { User } from "../lib/types";
import { ErrorBox, Field, Modal } from "../ui";

export function Relogin({ user, onDone }: { user: User; onDone(): void }) {
  const { t } = useTranslation();
  const { api } = useApp();
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title={t("auth.expiredTitle")}>
      <form
        className="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await api.login(user.username, password);
            onDone();
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <p className="muted">{t("auth.expiredText")}</p>
        <Field label={t("auth.username")} value={user.username} readOnly autoComplete="username" />
        <Field label={t("auth.password")} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={() => void api.logout()}>
            {t("nav.logout")}
          </button>
          <button type="submit" className="primary" disabled={busy || !password}>
            {t("auth.login")}
          </button>
        </div>
      </form>
    </Modal>
  );
}
