// An AI character's reply: name and avatar, the text (with a caret while it streams) and its state.
import { useRef, type ReactNode, type TouchEvent } from "react";
import { useTranslation } from "../../i18n";
import { Avatar, clock } from "../../ui";
import { MessageText } from "./MessageText";

export function AiBubble(props: { grouped?: boolean; highlighted?: boolean; name: string; avatar?: string | null; seed?: string; text: string; streaming: boolean; partial?: boolean; failed?: string | null; cancelled?: boolean; time?: string; model?: string | null; messageId?: number; body?: ReactNode; tools?: ReactNode; onSwipe?: (dir: -1 | 1) => void }) {
  const { grouped, highlighted, name, avatar, seed, text, streaming, partial, failed, cancelled, time, model, messageId, body, tools, onSwipe } = props;
  // A horizontal swipe on a phone flips between the versions, like the arrows.
  const touchX = useRef<number | null>(null);
  const onTouchStart = onSwipe ? (e: TouchEvent) => void (touchX.current = e.touches[0].clientX) : undefined;
  const onTouchEnd = onSwipe
    ? (e: TouchEvent) => {
        if (touchX.current === null) return;
        const dx = e.changedTouches[0].clientX - touchX.current;
        touchX.current = null;
        if (Math.abs(dx) > 60) onSwipe(dx < 0 ? 1 : -1);
      }
    : undefined;
  const { t } = useTranslation();
  return (
    <div className={`msg ai${grouped ? " grouped" : ""}${highlighted ? " hit" : ""}${streaming ? " streaming" : ""}`} data-streaming={streaming ? "true" : undefined} data-message-id={messageId} onTouchStart={onTouchStart} onTouchEnd={onTouchEnd}>
      {grouped ? <span className="avatar-gap" /> : <Avatar name={name} url={avatar} seed={seed} size={30} />}
      <div className="bubble">
        {!grouped && <div className="author">{name}</div>}
        {body ?? (
          <MessageText text={partial ? `…${text}` : text}>
            {streaming && <span className="caret" aria-hidden="true" />}
            {streaming && !text && <span className="muted">{t("chat.thinking")}</span>}
          </MessageText>
        )}
        <div className="meta">
          {time && <time dateTime={time}>{clock(time)}</time>}
          {model && <span className="hide-sm"> · {model}</span>}
          {cancelled && <span> · {t("chat.stopped")}</span>}
          {failed && <span className="err-text"> · {failed}</span>}
          {tools}
        </div>
      </div>
    </div>
  );
}
