// Create or edit a character: every field of the card.
import { useEffect, useState } from "react";
import { useApp } from "../appContext";
import { ApiError } from "../lib/api";
import { navigate } from "../lib/router";
import type { Character } from "../lib/types";
import { useTranslation } from "../i18n";
import { Avatar, ErrorBox, Field, Icon, Link, Select, Spinner, fieldError } from "../ui";
import { exportCard } from "./Characters";
import { useStartChat } from "../components/StartChat";
import * as E from "../lib/endpoints.later";

interface Form {
  name: string;
  description: string;
  personality: string;
  scenario: string;
  greeting: string;
  alternate_greetings: string[];
  example_dialogue: string;
  system_prompt: string;
  post_history_instructions: string;
  creator_notes: string;
  tags: string;
  avatar_url: string;
  visibility: string;
  model_preference: string;
}

const blank: Form = {
  name: "", description: "", personality: "", scenario: "", greeting: "", alternate_greetings: [], example_dialogue: "",
  system_prompt: "", post_history_instructions: "", creator_notes: "", tags: "", avatar_url: "", visibility: "private", model_preference: "",
};

function toForm(c: Character): Form {
  return {
    name: c.name, description: c.description, personality: c.personality, scenario: c.scenario, greeting: c.greeting,
    alternate_greetings: c.alternate_greetings, example_dialogue: c.example_dialogue, system_prompt: c.system_prompt,
    post_history_instructions: c.post_history_instructions, creator_notes: c.creator_notes, tags: c.tags.join(", "),
    avatar_url: c.avatar_url ?? "", visibility: c.visibility, model_preference: c.model_preference ?? "",
  };
}

export function CharacterEditor({ id }: { id: number | null }) {
  const app = useApp();
  const { client, toast } = app;
  const { t } = useTranslation();
  // Hints that show {{user}} and {{char}} literally.
  const macros = { user: "{{user}}", char: "{{char}}" };
  const [form, setForm] = useState<Form>(blank);
  const [original, setOriginal] = useState<Character | null>(null);
  const [loading, setLoading] = useState(!!id);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const chat = useStartChat(setError);

  useEffect(() => {
    if (!id) return;
    // Just created here: the form already holds what the server answered; a second load would
    // overwrite what is typed meanwhile.
    if (original?.id === id) return;
    setLoading(true);
    E.character(client, id)
      .then((c) => {
        setOriginal(c);
        setForm(toForm(c));
      })
      .catch(setError)
      .finally(() => setLoading(false));
  }, [client, id]); // eslint-disable-line react-hooks/exhaustive-deps

  const set = <K extends keyof Form>(k: K) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const err = (f: string) => fieldError(error, f);

  async function save(e: React.FormEvent) {
    e.preventDefault();
    setSaving(true);
    setError(null);
    const body = {
      name: form.name.trim(),
      description: form.description,
      personality: form.personality,
      scenario: form.scenario,
      greeting: form.greeting,
      alternate_greetings: form.alternate_greetings.filter((g) => g.trim()),
      example_dialogue: form.example_dialogue,
      system_prompt: form.system_prompt,
      post_history_instructions: form.post_history_instructions,
      creator_notes: form.creator_notes,
      tags: form.tags.split(",").map((t) => t.trim()).filter(Boolean),
      avatar_url: form.avatar_url.trim() || null,
      visibility: form.visibility,
      model_preference: form.model_preference.trim() || null,
    };
    try {
      const saved = id ? await E.updateCharacter(app, id, body) : await E.createCharacter(app, body);
      toast(id ? t("editor.saved") : t("editor.created", { name: saved.name }));
      setOriginal(saved);
      setForm(toForm(saved));
      if (!id) navigate(`/characters/${saved.id}/edit`, { replace: true });
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.errors[0]) document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    } finally {
      setSaving(false);
    }
  }

  async function remove() {
    if (!id || !confirm(t("editor.confirmDelete", { name: form.name }))) return;
    try {
      await E.deleteCharacter(app, id);
      toast(t("editor.deleted"));
      navigate("/characters");
    } catch (e) {
      setError(e);
    }
  }

  if (loading) return <Spinner />;

  return (
    <div className="page narrow">
      <div className="page-head">
        <div className="row">
          <Link to="/characters" className="button ghost" aria-label={t("editor.back")}>
            <Icon name="back" />
          </Link>
          <Avatar name={form.name || "?"} url={form.avatar_url || null} size={44} />
          <h1>{id ? t("editor.editTitle", { name: original?.name ?? "" }) : t("characters.new")}</h1>
        </div>
        {id && original && (
          <div className="row wrap">
            <button type="button" className="primary" onClick={() => chat.start(id, original.name)}>
              {t("characters.chat")}
            </button>
            <button type="button" className="ghost" onClick={() => exportCard(app, original, "json").catch(setError)}>
              {t("editor.exportJson")}
            </button>
            <button type="button" className="ghost" onClick={() => exportCard(app, original, "png").catch(setError)}>
              {t("editor.exportPng")}
            </button>
          </div>
        )}
      </div>
      <form className="stack card" onSubmit={save} noValidate>
        <div className="cols">
          <Field label={t("editor.name")} value={form.name} onChange={set("name")} required maxLength={64} error={err("name")} />
          <Field label={t("editor.avatarUrl")} type="url" value={form.avatar_url} onChange={set("avatar_url")} placeholder="https://…" error={err("avatar_url")} />
        </div>
        <Field label={t("editor.description")} multiline rows={3} value={form.description} onChange={set("description")} error={err("description")} hint={t("editor.descriptionHint")} />
        <Field label={t("editor.personality")} multiline rows={2} value={form.personality} onChange={set("personality")} error={err("personality")} />
        <Field label={t("editor.scenario")} multiline rows={2} value={form.scenario} onChange={set("scenario")} error={err("scenario")} />
        <Field label={t("editor.greeting")} multiline rows={3} value={form.greeting} onChange={set("greeting")} error={err("greeting")} hint={t("editor.greetingHint", macros)} />
        <fieldset className="stack">
          <legend>{t("editor.alternateGreetings")}</legend>
          {form.alternate_greetings.map((g, i) => (
            <div className="row top" key={i}>
              <div className="grow">
                <Field
                  label={t("editor.alternateGreeting", { n: i + 1 })}
                  multiline
                  rows={2}
                  value={g}
                  onChange={(e) => setForm((f) => ({ ...f, alternate_greetings: f.alternate_greetings.map((x, j) => (j === i ? e.target.value : x)) }))}
                />
              </div>
              <button type="button" className="ghost" aria-label={t("editor.removeAlternate", { n: i + 1 })} onClick={() => setForm((f) => ({ ...f, alternate_greetings: f.alternate_greetings.filter((_, j) => j !== i) }))}>
                ×
              </button>
            </div>
          ))}
          {err("alternate_greetings") && <div className="field-error">{err("alternate_greetings")}</div>}
          <button type="button" className="small" onClick={() => setForm((f) => ({ ...f, alternate_greetings: [...f.alternate_greetings, ""] }))}>
            <Icon name="plus" size={14} /> {t("editor.addAlternate")}
          </button>
        </fieldset>
        <Field label={t("editor.exampleDialogue")} multiline rows={4} value={form.example_dialogue} onChange={set("example_dialogue")} error={err("example_dialogue")} hint={t("editor.exampleHint", macros)} />
        <Field label={t("editor.systemPrompt")} multiline rows={3} value={form.system_prompt} onChange={set("system_prompt")} error={err("system_prompt")} />
        <Field label={t("editor.postHistory")} multiline rows={2} value={form.post_history_instructions} onChange={set("post_history_instructions")} error={err("post_history_instructions")} hint={t("editor.postHistoryHint")} />
        <Field label={t("editor.creatorNotes")} multiline rows={2} value={form.creator_notes} onChange={set("creator_notes")} error={err("creator_notes")} />
        <div className="cols">
          <Field label={t("editor.tags")} value={form.tags} onChange={set("tags")} placeholder={t("editor.tagsPlaceholder")} hint={t("editor.tagsHint")} error={err("tags")} />
          <Field label={t("editor.model")} value={form.model_preference} onChange={set("model_preference")} placeholder="provider/model" hint={t("editor.modelHint")} error={err("model_preference")} />
          <Select label={t("editor.visibility")} value={form.visibility} onChange={(v) => setForm((f) => ({ ...f, visibility: v }))} options={[["private", t("editor.private")], ["public", t("editor.public")]]} />
        </div>
        <ErrorBox error={error} />
        <div className="row end">
          {id && (
            <button type="button" className="danger" onClick={remove}>
              {t("editor.delete")}
            </button>
          )}
          <span className="grow" />
          <button type="submit" className="primary" disabled={saving}>
            {saving ? t("editor.saving") : id ? t("editor.saveChanges") : t("editor.createCharacter")}
          </button>
        </div>
      </form>
      {chat.dialog}
    </div>
  );
}
