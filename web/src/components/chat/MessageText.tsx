import { useEffect, useState, type ReactNode } from "react";

// Markdown is rendered by a chunk of its own (marked + DOMPurify), fetched after the first
// screen; until it arrives the text shows as typed.
let markdown: ((text: string) => string) | null = null;
let markdownLoad: Promise<void> | null = null;
function loadMarkdown(): Promise<void> {
  markdownLoad ??= import("../../lib/markdown").then((m) => {
    markdown = m.renderMarkdown;
  });
  return markdownLoad;
}

export function MessageText({ text, children }: { text: string; children?: ReactNode }) {
  const [, setReady] = useState(!!markdown);
  useEffect(() => {
    if (!markdown) void loadMarkdown().then(() => setReady(true));
  }, []);
  return (
    <div className="text">
      {markdown ? <div className="md" dangerouslySetInnerHTML={{ __html: markdown(text) }} /> : <div className="md plain">{text}</div>}
      {children}
    </div>
  );
}
