import { useState } from "react";
import type { Api } from "../lib/api";
import { ErrorBox, Field, Icon, Link, fieldError } from "../ui";

export function AuthPage({ api, mode, theme, onTheme }: { api: Api; mode: "login" | "register"; theme: string; onTheme(t: "light" | "dark"): void }) {
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const register = mode === "register";

  return (
    <div className="auth">
      <button type="button" className="ghost theme-toggle" onClick={() => onTheme(theme === "dark" ? "light" : "dark")} aria-label="Switch theme">
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
          <h1>{register ? "Create your account" : "Welcome back"}</h1>
          <p className="muted">Chat with AI characters, friends, groups and servers.</p>
        </div>
        <Field
          label={register ? "Username" : "Username or e-mail"}
          name="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          autoComplete="username"
          required
          error={fieldError(error, "username")}
          hint={register ? "3–32 letters, digits, _ . -" : undefined}
        />
        {register && (
          <Field label="E-mail" name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required error={fieldError(error, "email")} />
        )}
        <Field
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete={register ? "new-password" : "current-password"}
          required
          error={fieldError(error, "password")}
          hint={register ? "8–128 characters with a letter and a digit" : undefined}
        />
        <ErrorBox error={error} />
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? "Please wait…" : register ? "Create account" : "Log in"}
        </button>
        <p className="muted center">
          {register ? (
            <>
              Have an account? <Link to="/login">Log in</Link>
            </>
          ) : (
            <>
              New here? <Link to="/register">Create an account</Link>
            </>
          )}
        </p>
      </form>
    </div>
  );
}
