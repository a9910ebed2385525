// One conversation: the header, the messages, who is typing and the composer. The state and the
// actions are useConversation's; the parts are the components beside this file.
import { useMemo, useRef, type ReactNode } from "react";
import { useApp } from "../../appContext";
import { useTranslation } from "../../i18n";
import type { Conversation, Message } from "../../lib/types";
import { ErrorBox } from "../../ui";
import { useCharacters } from "./characters";
import { ChatHeader } from "./ChatHeader";
import { Composer } from "./Composer";
import { MessageList, type MessageListHandle } from "./MessageList";
import { TypingLine } from "./TypingLine";
import { useConversation } from "./useConversation";

export interface ChatViewProps {
  conversation: Conversation;
  /** Extra buttons in the header (members, settings). */
  actions?: ReactNode;
  /** Shown left of the title (back button on phones). */
  leading?: ReactNode;
  side?: ReactNode;
  onActivity?(m: Message): void;
  onPresence?(online: Set<number>): void;
  onMembersChanged?(): void;
}

export function ChatView({ conversation, actions, leading, side, onActivity, onPresence, onMembersChanged }: ChatViewProps) {
  const { client, gw, user, status, sessionEpoch } = useApp();
  const { t } = useTranslation();
  const id = conversation.id;
  const list = useRef<MessageListHandle>(null);
  const model = useConversation(conversation, { onActivity, onPresence, onMembersChanged, onFollow: () => list.current?.follow() });
  const { state, job } = model;
  const isAi = conversation.kind === "ai_chat";

  const charIds = useMemo(() => {
    const ids = state.messages.map((m) => m.character_id).filter((x): x is number => !!x);
    if (conversation.character_id) ids.push(conversation.character_id);
    for (const d of Object.values(state.drafts)) if (d.characterId) ids.push(d.characterId);
    return ids;
  }, [state.messages, state.drafts, conversation.character_id]);
  const characters = useCharacters(client, charIds, sessionEpoch);

  const lastVisible = state.messages[state.messages.length - 1];
  const canRegenerate = isAi && !job && lastVisible?.role === "assistant" && lastVisible.status !== "streaming";
  const mainChar = conversation.character_id ? characters[conversation.character_id] : undefined;

  return (
    <section className="chat" aria-label={t("chat.region", { title: conversation.title })}>
      <ChatHeader
        conversation={conversation}
        mainChar={mainChar}
        onlineCount={model.online.size}
        replying={!!job}
        canRegenerate={canRegenerate}
        onStop={() => void model.stop()}
        onRegenerate={() => void model.regenerate()}
        leading={leading}
        actions={actions}
      />
      {status !== "open" && status !== "idle" && (
        <div className="banner" role="status">
          {status === "unauthorized" ? t("chat.pausedBanner") : t("chat.lostBanner")}
        </div>
      )}
      <ErrorBox error={model.error} onDismiss={() => model.setError(null)} />
      <div className="chat-body">
        <MessageList ref={list} model={model} me={user.id} characters={characters} />
        {side}
      </div>
      <TypingLine names={model.typingNames} />
      <Composer key={id} conversationId={id} limit={model.limit} onSend={model.send} onTyping={() => gw.typing(id)} placeholder={isAi ? t("chat.placeholderAi", { name: mainChar?.name ?? conversation.title }) : t("chat.placeholder")} />
    </section>
  );
}
