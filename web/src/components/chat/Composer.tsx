// The message box: Enter sends (not while an IME composes), the draft is kept per conversation.
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "../../i18n";
import { isSendKey } from "../../lib/keys";
import { charCount } from "../../lib/chatState";
import { Icon } from "../../ui";
import { Counter } from "./Counter";

export function Composer({ conversationId, limit, onSend, onTyping, placeholder }: { conversationId: number; limit: number; onSend(t: string): Promise<void>; onTyping(): void; placeholder: string }) {
  const key = `chat.draft.${conversationId}`;
  const [text, setText] = useState(() => localStorage.getItem(key) ?? "");
  const ref = useRef<HTMLTextAreaElement>(null);
  const { t } = useTranslation();
  const n = charCount(text);
  const over = n > limit;

  useEffect(() => {
    // Drafts survive reloads and session expiry.
    if (text) localStorage.setItem(key, text);
    else localStorage.removeItem(key);
  }, [key, text]);

  function submit() {
    const content = text;
    if (!content.trim() || over) return;
    setText("");
    void onSend(content);
    ref.current?.focus();
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label htmlFor={`composer-${conversationId}`} className="sr-only">
        {t("chat.message")}
      </label>
      <textarea
        id={`composer-${conversationId}`}
        ref={ref}
        value={text}
        rows={1}
        placeholder={placeholder}
        aria-describedby={`counter-${conversationId}`}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value) onTyping();
        }}
        onKeyDown={(e) => {
          if (isSendKey({ key: e.key, shiftKey: e.shiftKey, isComposing: e.nativeEvent.isComposing, keyCode: e.nativeEvent.keyCode })) {
            e.preventDefault();
            submit();
          }
        }}
      />
      <div className="composer-side" id={`counter-${conversationId}`}>
        <Counter value={text} limit={limit} />
        <button type="submit" className="primary" disabled={!text.trim() || over} aria-label={t("chat.send")}>
          <Icon name="send" size={18} />
        </button>
      </div>
    </form>
  );
}
