// An AI character's reply: name and avatar, the text (with a caret while it streams) and its state.
import { useTranslation } from "../../i18n";
import { Avatar, clock } from "../../ui";
import { MessageText } from "./MessageText";

export function AiBubble(props: { grouped?: boolean; highlighted?: boolean; name: string; avatar?: string | null; seed?: string; text: string; streaming: boolean; partial?: boolean; failed?: string | null; cancelled?: boolean; time?: string; model?: string | null }) {
  const { grouped, highlighted, name, avatar, seed, text, streaming, partial, failed, cancelled, time, model } = props;
  const { t } = useTranslation();
  return (
    <div className={`msg ai${grouped ? " grouped" : ""}${highlighted ? " hit" : ""}${streaming ? " streaming" : ""}`} data-streaming={streaming ? "true" : undefined}>
      {grouped ? <span className="avatar-gap" /> : <Avatar name={name} url={avatar} seed={seed} size={30} />}
      <div className="bubble">
        {!grouped && <div className="author">{name}</div>}
        <MessageText text={partial ? `…${text}` : text}>
          {streaming && <span className="caret" aria-hidden="true" />}
          {streaming && !text && <span className="muted">{t("chat.thinking")}</span>}
        </MessageText>
        <div className="meta">
          {time && <time dateTime={time}>{clock(time)}</time>}
          {model && <span className="hide-sm"> · {model}</span>}
          {cancelled && <span> · {t("chat.stopped")}</span>}
          {failed && <span className="err-text"> · {failed}</span>}
        </div>
      </div>
    </div>
  );
}
