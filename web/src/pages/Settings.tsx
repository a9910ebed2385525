import { useState } from "react";
import { useApp } from "../appContext";
import { updateProfile } from "../lib/endpoints.later";
import { useTranslation } from "../i18n";
import { LanguagePicker } from "../components/LanguagePicker";
import { Avatar, ErrorBox, Field, fieldError } from "../ui";

export function SettingsPage() {
  const app = useApp();
  const { api, user, toast } = app;
  const [displayName, setDisplayName] = useState(user.display_name);
  const [bio, setBio] = useState(user.bio);
  const [avatar, setAvatar] = useState(user.avatar_url ?? "");
  const [error, setError] = useState<unknown>(null);
  const { t } = useTranslation();
  return (
    <div className="page narrow">
      <div className="page-head">
        <div className="row">
          <Avatar name={displayName || user.username} url={avatar || null} size={48} />
          <div>
            <h1>{user.display_name || user.username}</h1>
            <div className="muted small">
              @{user.username} · {t("settings.userId", { id: user.id })} · {user.email} {user.role === "admin" && `· ${t("settings.administrator")}`}
            </div>
          </div>
        </div>
      </div>
      <form
        className="card stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const updated = await updateProfile(app, { display_name: displayName, bio, avatar_url: avatar.trim() || null });
            api.setUser(updated);
            toast(t("settings.saved"));
          } catch (err) {
            setError(err);
          }
        }}
      >
        <h2>{t("settings.profile")}</h2>
        <Field label={t("settings.displayName")} value={displayName} onChange={(e) => setDisplayName(e.target.value)} maxLength={64} error={fieldError(error, "display_name")} />
        <Field label={t("settings.bio")} multiline rows={3} value={bio} onChange={(e) => setBio(e.target.value)} maxLength={500} error={fieldError(error, "bio")} />
        <Field label={t("settings.avatar")} type="url" value={avatar} onChange={(e) => setAvatar(e.target.value)} placeholder="https://…" error={fieldError(error, "avatar_url")} />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="submit" className="primary">
            {t("common.save")}
          </button>
        </div>
      </form>
      <section className="card stack" aria-label={t("settings.language")}>
        <LanguagePicker />
        <p className="hint">{t("settings.languageHint")}</p>
      </section>
    </div>
  );
}
