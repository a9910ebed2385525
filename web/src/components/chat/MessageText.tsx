// A message's text as sanitized Markdown. The Markdown renderer (marked + DOMPurify) is a chunk of
// its own, fetched after the first screen; until it arrives the text shows as typed. The code
// highlighter is another, fetched only when a message has a fenced code block naming a language.
import { useEffect, useMemo, useState, type ReactNode } from "react";

type Markdown = typeof import("../../lib/markdown");
let markdown: Markdown | null = null;
let markdownLoad: Promise<void> | null = null;
function loadMarkdown(): Promise<void> {
  markdownLoad ??= import("../../lib/markdown").then((m) => {
    markdown = m;
  });
  return markdownLoad;
}

let highlighterReady = false;
let highlighterLoad: Promise<void> | null = null;
function loadHighlighter(): Promise<void> {
  highlighterLoad ??= Promise.all([loadMarkdown(), import("../../lib/highlight")]).then(([, h]) => {
    markdown!.setHighlighter(h.highlightCode);
    highlighterReady = true;
  });
  return highlighterLoad;
}

export function MessageText({ text, children }: { text: string; children?: ReactNode }) {
  const [ready, setReady] = useState(0);
  const wantsHighlighter = !highlighterReady && !!markdown && markdown.hasHighlightableCode(text);
  useEffect(() => {
    if (!markdown) void loadMarkdown().then(() => setReady((n) => n + 1));
  }, []);
  useEffect(() => {
    if (wantsHighlighter) void loadHighlighter().then(() => setReady((n) => n + 1));
  }, [wantsHighlighter]);
  // Parsed once per text (a streaming reply re-renders the rows around it on every delta).
  const html = useMemo(() => markdown?.renderMarkdown(text) ?? null, [text, ready]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="text">
      {html !== null ? <div className="md" dangerouslySetInnerHTML={{ __html: html }} /> : <div className="md plain">{text}</div>}
      {children}
    </div>
  );
}
