// Message search hits: the conversation, the author and the words around the match (marked);
// a hit opens the conversation at that message (`?m=`).
import { useApp } from "../../appContext";
import { useTranslation } from "../../i18n";
import { Avatar, Empty, ErrorBox, Link, Spinner, timeAgo } from "../../ui";
import type { MessageSearch } from "../../pages/Chats";

/** The text around the first match, with the match marked. */
function Snippet({ text, query }: { text: string; query: string }) {
  const at = text.toLowerCase().indexOf(query.toLowerCase());
  if (at < 0) return <>{text.slice(0, 120)}</>;
  const start = Math.max(0, at - 40);
  return (
    <>
      {start > 0 && "…"}
      {text.slice(start, at)}
      <mark>{text.slice(at, at + query.length)}</mark>
      {text.slice(at + query.length, at + query.length + 80)}
    </>
  );
}

export function SearchResults({ search, title, openId }: { search: MessageSearch; title: (cid: number) => string; openId: number | null }) {
  const { user } = useApp();
  const { t } = useTranslation();
  if (search.error) return <ErrorBox error={search.error} />;
  if (!search.results) return <Spinner />;
  if (!search.results.length) return <Empty title={t("chats.noResults")}>{t("chats.noResultsText", { query: search.query.trim() })}</Empty>;
  return (
    <ul className="conv-list" aria-label={t("chats.searchResults")}>
      {search.results.map((m) => (
        <li key={m.id}>
          <Link to={`/chats/${m.conversation_id}?m=${m.id}`} className={`conv${m.conversation_id === openId ? " active" : ""}`}>
            <Avatar name={title(m.conversation_id)} />
            <span className="conv-main">
              <span className="conv-top">
                <strong className="ellipsis">{title(m.conversation_id)}</strong>
                <span className="muted small">{timeAgo(m.created_at)}</span>
              </span>
              <span className="muted small">
                {m.role === "assistant" ? "" : m.author_id === user.id ? t("chats.you") : m.author_username ? `${m.author_username}: ` : ""}
                <Snippet text={m.content} query={search.query.trim()} />
              </span>
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}
