import { useState } from "react";
import { useTranslation } from "../i18n";
import { LanguagePicker } from "../components/LanguagePicker";
import type { Api } from "../lib/api";
import { ErrorBox, Field, Icon, Link, fieldError } from "../ui";

export function AuthPage({ api, mode, theme, onTheme }: { api: Api; mode: "login" | "register"; theme: string; onTheme(t: "light" | "dark"): void }) {
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const register = mode === "register";
  const { t } = useTranslation();

  return (
    <div className="auth">
      <button type="button" className="ghost theme-toggle" onClick={() => onTheme(theme === "dark" ? "light" : "dark")} aria-label={t("auth.switchTheme")}>
        <Icon name={theme === "dark" ? "sun" : "moon"} />
      </button>
      <form
        className="auth-card stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            if (register) await api.register(username.trim(), email.trim(), password);
            else await api.login(username.trim(), password);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <div className="auth-brand">
          <span className="brand">◆</span>
          <h1>{register ? t("auth.createTitle") : t("auth.welcome")}</h1>
          <p className="muted">{t("auth.tagline")}</p>
        </div>
        <Field
          label={register ? t("auth.username") : t("auth.usernameOrEmail")}
          name="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          autoComplete="username"
          required
          error={fieldError(error, "username")}
          hint={register ? t("auth.usernameHint") : undefined}
        />
        {register && (
          <Field label={t("auth.email")} name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required error={fieldError(error, "email")} />
        )}
        <Field
          label={t("auth.password")}
          name="password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete={register ? "new-password" : "current-password"}
          required
          error={fieldError(error, "password")}
          hint={register ? t("auth.passwordHint") : undefined}
        />
        <ErrorBox error={error} />
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? t("auth.wait") : register ? t("auth.createAccount") : t("auth.login")}
        </button>
        <p className="muted center">
          {register ? (
            <>
              {t("auth.haveAccount")} <Link to="/login">{t("auth.login")}</Link>
            </>
          ) : (
            <>
              {t("auth.newHere")} <Link to="/register">{t("auth.createLink")}</Link>
            </>
          )}
        </p>
        <LanguagePicker />
      </form>
    </div>
  );
}
