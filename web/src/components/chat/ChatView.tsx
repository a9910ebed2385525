// One conversation: the header, the messages, who is typing and the composer. The state and the
// actions are useConversation's; the parts are the components beside this file.
import { useMemo, useRef, useState, type ReactNode } from "react";
import { useApp, useLoad } from "../../appContext";
import { useTranslation } from "../../i18n";
import * as ep from "../../lib/endpoints";
import { characterFace, charactersFromMessages, namesFromMembers, personFace, type Face } from "../../lib/identity";
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
  /** A message to open the conversation at (a search hit). */
  focus?: number | null;
}

export function ChatView({ conversation, actions, leading, side, onActivity, onPresence, onMembersChanged, focus }: ChatViewProps) {
  const app = useApp();
  const { client, gw, user, status, sessionEpoch } = app;
  const { t } = useTranslation();
  const id = conversation.id;
  const list = useRef<MessageListHandle>(null);
  // The members' display names, so a person shows the same here as in the members panel.
  const [membersTick, setMembersTick] = useState(0);
  const isAi = conversation.kind === "ai_chat";
  const members = useLoad(...ep.members(app, id, membersTick), { enabled: !isAi });
  const names = useMemo(() => namesFromMembers(members.data), [members.data]);
  const membersChanged = () => {
    setMembersTick((n) => n + 1);
    onMembersChanged?.();
  };
  const model = useConversation(conversation, { onActivity, onPresence, onMembersChanged: membersChanged, onFollow: () => list.current?.follow() }, focus);
  const { state, job } = model;

  const charIds = useMemo(() => {
    const ids = state.messages.map((m) => m.character_id).filter((x): x is number => !!x);
    if (conversation.character_id) ids.push(conversation.character_id);
    for (const d of Object.values(state.drafts)) if (d.characterId) ids.push(d.characterId);
    return ids;
  }, [state.messages, state.drafts, conversation.character_id]);
  const cards = useCharacters(client, charIds, sessionEpoch);
  // What the messages say wins over a card (a room member cannot read another's private card).
  const characters = useMemo(() => ({ ...cards, ...charactersFromMessages(state.messages) }), [cards, state.messages]);

  const lastVisible = state.messages[state.messages.length - 1];
  const canRegenerate = isAi && !job && lastVisible?.role === "assistant" && lastVisible.status !== "streaming";
  const mainChar = conversation.character_id ? cards[conversation.character_id] : undefined;
  // Who the header shows: the AI character, the other person of a DM, else the room.
  const other = conversation.kind === "direct" ? members.data?.find((m) => m.user_id !== user.id) : undefined;
  const face: Face = isAi
    ? characterFace(characters, conversation.character_id, conversation.title)
    : other
      ? personFace(names, other.user_id, other.username)
      : { name: conversation.title, seed: conversation.title };
  const typingNames = model.typingPeople.map((p) => personFace(names, p.id, p.username).name);

  return (
    <section className="chat" aria-label={t("chat.region", { title: conversation.title })}>
      <ChatHeader
        conversation={conversation}
        mainChar={mainChar}
        face={face}
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
        <MessageList ref={list} model={model} me={user.id} characters={characters} names={names} focus={focus} tree={isAi} />
        {side}
      </div>
      <TypingLine names={typingNames} />
      <Composer key={id} conversationId={id} limit={model.limit} onSend={model.send} onTyping={() => gw.typing(id)} placeholder={isAi ? t("chat.placeholderAi", { name: face.name }) : t("chat.placeholder")} />
    </section>
  );
}
