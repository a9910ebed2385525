import { useState } from "react";
import { useApp, useLoad } from "../appContext";
import { createPersona, deletePersona, makeDefaultPersona, personaList, updateProfile } from "../lib/endpoints.later";
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
      <Personas />
      <section className="card stack" aria-label={t("settings.language")}>
        <LanguagePicker />
        <p className="hint">{t("settings.languageHint")}</p>
      </section>
    </div>
  );
}

/** The user's personas: who they are in AI chats (`{{user}}` and a description for the prompt). */
function Personas() {
  const app = useApp();
  const { t } = useTranslation();
  const list = useLoad(...personaList(app));
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<unknown>(null);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section className="card stack" aria-labelledby="personas-title">
      <h2 id="personas-title">{t("personas.title")}</h2>
      <p className="hint">{t("personas.hint", { user: "{{user}}" })}</p>
      {list.data && list.data.length === 0 && <p className="muted">{t("personas.none")}</p>}
      <ul className="stack" aria-label={t("personas.title")}>
        {list.data?.map((p) => (
          <li key={p.id} className="row">
            <div className="grow">
              <strong>{p.name}</strong> {p.is_default && <span className="badge">{t("personas.isDefault")}</span>}
              {p.description && <div className="muted small">{p.description}</div>}
            </div>
            {!p.is_default && (
              <button type="button" onClick={() => act(() => makeDefaultPersona(app, p.id))}>
                {t("personas.makeDefault")}
              </button>
            )}
            <button type="button" className="danger" onClick={() => act(() => deletePersona(app, p.id))}>
              {t("personas.remove", { name: p.name })}
            </button>
          </li>
        ))}
      </ul>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await createPersona(app, { name, description });
            setName("");
            setDescription("");
            app.toast(t("personas.added"));
          });
        }}
      >
        <Field label={t("personas.name")} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} error={fieldError(error, "name")} />
        <Field label={t("personas.description")} multiline rows={2} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={5000} error={fieldError(error, "description")} />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="submit" className="primary">
            {t("personas.add")}
          </button>
        </div>
      </form>
    </section>
  );
}
