// Stories: a prompt (and optionally characters) in, a story out, written live. The list of the
// user's stories, a new-story form, and one story with its text streaming in (stop while it runs).
import { useEffect, useState } from "react";
import { useApp, useLoad } from "../appContext";
import { locale, useTranslation } from "../i18n";
import * as E from "../lib/endpoints.later";
import { queryClient } from "../lib/queryClient";
import { navigate } from "../lib/router";
import { applyStoryEvent, isRunning, isStoryEvent, storyText, type LiveStories } from "../lib/storyState";
import type { Story } from "../lib/types";
import { Empty, ErrorBox, Field, Icon, Link, Spinner, fieldError, fmt, timeAgo } from "../ui";

const MAX_CHARACTERS = 8;

export function StoriesPage({ id }: { id: number | null }) {
  const app = useApp();
  const { t } = useTranslation();
  const list = useLoad(...E.stories(app));
  const [live, setLive] = useState<LiveStories>({});

  // Live progress arrives on the user's channel; a start or an end also refreshes the lists.
  useEffect(
    () =>
      app.gw.onNotification((n) => {
        if (!isStoryEvent(n)) return;
        setLive((s) => applyStoryEvent(s, n));
        if (n.type !== "story.delta") void queryClient.invalidateQueries({ queryKey: ["stories"] });
      }),
    [app.gw],
  );

  return (
    <div className={`stories${id ? " has-detail" : ""}`}>
      <aside className="story-list" aria-label={t("stories.list")}>
        <div className="pane-head">
          <h1>{t("stories.title")}</h1>
          <Link to="/stories" className="button primary small">
            <Icon name="plus" size={14} /> {t("stories.new")}
          </Link>
        </div>
        <ErrorBox error={list.error} />
        {list.loading && <Spinner />}
        {list.data && !list.data.items.length && <p className="muted pad">{t("stories.none")}</p>}
        <ul className="plain-list">
          {list.data?.items.map((s) => (
            <li key={s.id}>
              <Link to={`/stories/${s.id}`} className={`story-item${s.id === id ? " active" : ""}`} aria-current={s.id === id ? "page" : undefined}>
                <strong className="ellipsis">{s.title}</strong>
                <span className="muted small">
                  <StatusText status={s.status} /> · {timeAgo(s.created_at)}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      </aside>
      <section className="story-detail">{id ? <StoryView id={id} live={live} /> : <NewStory />}</section>
    </div>
  );
}

function StatusText({ status }: { status: string }) {
  const { t } = useTranslation();
  return <span className={`story-status status-${status}`}>{t(`stories.status_${status}`)}</span>;
}

function NewStory() {
  const app = useApp();
  const { t } = useTranslation();
  const mine = useLoad(...E.myCharacters(app.client));
  const [title, setTitle] = useState("");
  const [prompt, setPrompt] = useState("");
  const [chosen, setChosen] = useState<number[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const toggle = (cid: number, on: boolean) => setChosen((c) => (on ? [...c, cid] : c.filter((x) => x !== cid)));
  return (
    <form
      className="card stack"
      aria-label={t("stories.new")}
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const s = await E.createStory(app, { prompt, title: title.trim() || null, character_ids: chosen });
          void queryClient.invalidateQueries({ queryKey: ["stories"] });
          navigate(`/stories/${s.id}`);
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{t("stories.new")}</h2>
      <Field label={t("stories.prompt")} multiline rows={5} value={prompt} onChange={(e) => setPrompt(e.target.value)} maxLength={4000} required hint={t("stories.promptHint")} error={fieldError(error, "prompt")} />
      <Field label={t("stories.titleLabel")} value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} hint={t("stories.titleHint")} error={fieldError(error, "title")} />
      <fieldset className="stack">
        <legend>{t("stories.characters", { max: MAX_CHARACTERS })}</legend>
        {mine.data && !mine.data.items.length && <p className="muted small">{t("stories.noCharacters")}</p>}
        <div className="row wrap">
          {mine.data?.items.map((c) => (
            <label key={c.id} className="row small">
              <input type="checkbox" checked={chosen.includes(c.id)} disabled={!chosen.includes(c.id) && chosen.length >= MAX_CHARACTERS} onChange={(e) => toggle(c.id, e.target.checked)} /> {c.name}
            </label>
          ))}
        </div>
        {fieldError(error, "character_ids") && <div className="field-error">{fieldError(error, "character_ids")}</div>}
      </fieldset>
      <ErrorBox error={error} />
      <div className="row end">
        <button type="submit" className="primary" disabled={busy || !prompt.trim()}>
          {t("stories.write")}
        </button>
      </div>
    </form>
  );
}

function StoryView({ id, live }: { id: number; live: LiveStories }) {
  const app = useApp();
  const { t } = useTranslation();
  const [running, setRunning] = useState(false);
  // While it runs, the REST copy is read every few seconds too (events are live only).
  const s = useLoad(...E.story(app, id), { refetchInterval: running ? 3000 : undefined });
  const [error, setError] = useState<unknown>(null);
  const story: Story | null = s.data;
  useEffect(() => setRunning(!!story && isRunning(story)), [story]);
  if (!story) return s.error ? <ErrorBox error={s.error} /> : <Spinner />;
  const text = storyText(story, live[id]);
  return (
    <article className="stack story" aria-label={story.title}>
      <div className="row">
        <button type="button" className="ghost back" onClick={() => navigate("/stories")} aria-label={t("stories.back")}>
          <Icon name="back" />
        </button>
        <h2 className="grow">{story.title}</h2>
        {isRunning(story) && (
          <button
            type="button"
            className="danger"
            onClick={async () => {
              setError(null);
              try {
                await E.stopStory(app, id);
                void queryClient.invalidateQueries({ queryKey: ["stories"] });
              } catch (e) {
                setError(e);
              }
            }}
          >
            <Icon name="stop" size={16} /> {t("chat.stop")}
          </button>
        )}
      </div>
      <div className="muted small">
        <StatusText status={story.status} /> · {new Date(story.created_at).toLocaleString(locale())}
        {story.model && ` · ${story.model}`}
        {story.completion_tokens != null && ` · ${t("stories.tokens", { n: fmt((story.prompt_tokens ?? 0) + story.completion_tokens) })}`}
      </div>
      <details>
        <summary>{t("stories.prompt")}</summary>
        <p className="pre-wrap">{story.prompt}</p>
      </details>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <div className={`story-text card${isRunning(story) ? " streaming" : ""}`} aria-live="polite" aria-busy={isRunning(story)}>
        {text || (isRunning(story) ? <span className="muted">{t("chat.thinking")}</span> : <Empty title={t("stories.empty")} />)}
      </div>
    </article>
  );
}
