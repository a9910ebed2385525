// The character gallery: mine and public ones, search, tags, start a chat, import and export
// Character Card V2 files.
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "../i18n";
import { useApp } from "../appContext";
import * as E from "../lib/endpoints.later";
import { searchCharacters, type Clients } from "../lib/endpoints.later";
import { navigate } from "../lib/router";
import type { Character } from "../lib/types";
import { useStartChat } from "../components/StartChat";
import { Avatar, Empty, ErrorBox, Icon, Link, Spinner, Tabs, saveBlob } from "../ui";

const PAGE = 24;

export async function exportCard(app: Clients, c: Character, format: "json" | "png") {
  const res = await E.exportCard(app, c.id, format);
  const disposition = res.headers.get("Content-Disposition") ?? "";
  const name = /filename="?([^"]+)"?/.exec(disposition)?.[1] ?? `${c.name}.${format}`;
  saveBlob(await res.blob(), name);
}

export function CharactersPage() {
  const app = useApp();
  const { client, user, toast, sessionEpoch } = app;
  const { t } = useTranslation();
  const [scope, setScope] = useState<"all" | "mine">("all");
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [tag, setTag] = useState("");
  const [items, setItems] = useState<Character[]>([]);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [importVisibility, setImportVisibility] = useState("private");
  const fileRef = useRef<HTMLInputElement>(null);
  const chat = useStartChat(setError);

  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 300);
    return () => clearTimeout(t);
  }, [search]);

  async function load(offset: number) {
    setLoading(true);
    try {
      const page = await searchCharacters(client, { search: query, tag, mine: scope === "mine", limit: PAGE, offset });
      setItems((cur) => (offset ? [...cur, ...page.items] : page.items));
      setMore(page.items.length === PAGE);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    void load(0);
  }, [scope, query, tag, sessionEpoch]); // eslint-disable-line react-hooks/exhaustive-deps

  async function importFile(file: File) {
    setError(null);
    const png = file.type === "image/png" || file.name.toLowerCase().endsWith(".png");
    try {
      const created = await E.importCard(app, await file.arrayBuffer(), png, importVisibility);
      toast(t("characters.imported", { name: created.name }));
      navigate(`/characters/${created.id}/edit`);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t("nav.characters")}</h1>
        <div className="row wrap">
          <div className="import">
            <label className="sr-only" htmlFor="import-visibility">
              {t("characters.importVisibility")}
            </label>
            <select id="import-visibility" value={importVisibility} onChange={(e) => setImportVisibility(e.target.value)} title={t("characters.importVisibility")}>
              <option value="private">{t("characters.importPrivate")}</option>
              <option value="public">{t("characters.importPublic")}</option>
            </select>
            <button type="button" onClick={() => fileRef.current?.click()}>
              {t("characters.import")}
            </button>
            <input
              ref={fileRef}
              type="file"
              accept=".json,.png,application/json,image/png"
              className="sr-only"
              aria-label={t("characters.cardFile")}
              data-testid="import-file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                e.target.value = "";
                if (f) void importFile(f);
              }}
            />
          </div>
          <Link to="/characters/new" className="button primary">
            <Icon name="plus" size={14} /> {t("characters.new")}
          </Link>
        </div>
      </div>
      <div className="toolbar">
        <Tabs label={t("characters.which")} value={scope} onChange={setScope} tabs={[["all", t("chats.all")], ["mine", t("characters.mine")]]} />
        <div className="field inline">
          <label htmlFor="char-search">{t("characters.search")}</label>
          <input id="char-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder={t("characters.namePlaceholder")} />
        </div>
        {tag && (
          <button type="button" className="chip active" onClick={() => setTag("")} aria-label={t("characters.removeTag", { tag })}>
            #{tag} ×
          </button>
        )}
      </div>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      <div className="grid">
        {items.map((c) => (
          <article key={c.id} className="card char-card">
            <div className="row">
              <Avatar name={c.name} url={c.avatar_url} size={48} />
              <div className="grow">
                <h3>{c.name}</h3>
                <div className="muted small">
                  {c.owner_id === user.id ? t("characters.yours") : t("characters.others")} · {c.visibility === "public" ? t("characters.public") : t("characters.private")}
                  {c.model_preference && ` · ${c.model_preference}`}
                </div>
              </div>
            </div>
            <p className="desc">{c.description || c.personality || c.scenario || <span className="muted">{t("characters.noDescription")}</span>}</p>
            <div className="tags">
              {c.tags.map((x) => (
                <button key={x} type="button" className={`chip${x === tag ? " active" : ""}`} onClick={() => setTag(x)}>
                  #{x}
                </button>
              ))}
            </div>
            <div className="row wrap card-actions">
              <button type="button" className="primary small" onClick={() => chat.start(c.id, c.name)}>
                {t("characters.chat")}
              </button>
              {(c.owner_id === user.id || user.role === "admin") && (
                <Link to={`/characters/${c.id}/edit`} className="button small">
                  {t("chat.edit")}
                </Link>
              )}
              <button type="button" className="ghost small" onClick={() => exportCard(app, c, "json").catch(setError)}>
                JSON
              </button>
              <button type="button" className="ghost small" onClick={() => exportCard(app, c, "png").catch(setError)}>
                PNG
              </button>
            </div>
          </article>
        ))}
      </div>
      {loading && <Spinner />}
      {!loading && !items.length && (
        <Empty title={query || tag ? t("characters.noMatch") : t("characters.none")}>
          <p>
            <Link to="/characters/new">{t("characters.createOne")}</Link> {t("characters.orImport")}
          </p>
        </Empty>
      )}
      {more && !loading && (
        <div className="center pad">
          <button type="button" onClick={() => load(items.length)}>
            {t("characters.loadMore")}
          </button>
        </div>
      )}
      {chat.dialog}
    </div>
  );
}
