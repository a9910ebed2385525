// The conversation's header: avatar, title, a line about it (the character, the kind, who is
// online), the AI controls (stop, regenerate) and the page's own buttons.
import type { ReactNode } from "react";
import { useTranslation } from "../../i18n";
import type { Face } from "../../lib/identity";
import type { Character, Conversation } from "../../lib/types";
import { Avatar, Icon } from "../../ui";

export interface ChatHeaderProps {
  conversation: Conversation;
  /** The conversation's AI character, once loaded. */
  mainChar?: Character;
  /** The avatar: the character, the other person of a DM, or the room. */
  face: Face;
  onlineCount: number;
  /** A reply is being written: Stop shows. */
  replying: boolean;
  canRegenerate: boolean;
  onStop(): void;
  onRegenerate(): void;
  leading?: ReactNode;
  actions?: ReactNode;
}

export function ChatHeader({ conversation, mainChar, face, onlineCount, replying, canRegenerate, onStop, onRegenerate, leading, actions }: ChatHeaderProps) {
  const { t } = useTranslation();
  const isAi = conversation.kind === "ai_chat";
  return (
    <header className="chat-head">
      {leading}
      <Avatar name={face.name} url={face.avatarUrl} seed={face.seed} />
      <div className="grow">
        <h2 className="chat-title">{conversation.kind === "channel" ? `# ${conversation.title}` : conversation.title}</h2>
        <div className="muted small">
          {isAi
            ? mainChar?.description?.slice(0, 90) || t("chat.aiCharacter")
            : conversation.description || (conversation.kind === "direct" ? t("chats.directMessage") : conversation.kind === "group" ? t("chat.groupRoom") : t("chat.channel"))}
          {!isAi && onlineCount > 0 && ` · ${t("chat.online", { count: onlineCount })}`}
        </div>
      </div>
      {isAi && replying && (
        <button type="button" className="danger" onClick={onStop} title={t("chat.stopTitle")}>
          <Icon name="stop" size={16} /> {t("chat.stop")}
        </button>
      )}
      {isAi && (
        <button type="button" onClick={onRegenerate} disabled={!canRegenerate} title={t("chat.regenerateTitle")} aria-label={t("chat.regenerate")}>
          <Icon name="refresh" size={16} /> <span className="hide-sm">{t("chat.regenerate")}</span>
        </button>
      )}
      {actions}
    </header>
  );
}
