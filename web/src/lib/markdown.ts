// Messages as Markdown: roleplay `*actions*` are emphasis, links are clickable and open in a new
// tab, code is code. Everything goes through DOMPurify with a short allow-list, raw HTML in a
// message is shown as text, and links may only be http(s) or mailto. Code blocks with a known
// language are highlighted once the highlighter's chunk is loaded (`setHighlighter`).
import DOMPurify from "dompurify";
import { Marked, type Tokens } from "marked";

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

type Highlight = (code: string, lang: string) => string | null;
let highlight: Highlight | null = null;

/** Turns highlighting on for the renders after this (the highlighter is its own chunk). */
export function setHighlighter(h: Highlight): void {
  highlight = h;
}

/** A fenced code block that names a language: worth loading the highlighter for. */
export const hasHighlightableCode = (text: string): boolean => /^[ \t]{0,3}(```|~~~)[ \t]*[A-Za-z]/m.test(text);

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // Raw HTML typed into a message is text, not markup.
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    // No remote images in messages (tracking pixels): the picture becomes a link to it.
    image: ({ href, text }: Tokens.Image) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    code: ({ text, lang }: Tokens.Code) => {
      const name = (lang ?? "").split(/\s/)[0];
      const code = text.replace(/\n$/, "") + "\n";
      const html = name && highlight ? highlight(code, name) : null;
      // The class names a language only when the highlighter knows it (never text from the message).
      return html !== null ? `<pre><code class="hljs language-${name.toLowerCase()}">${html}</code></pre>\n` : `<pre><code>${escapeHtml(code)}</code></pre>\n`;
    },
  },
});

const SAFE_URL = /^(https?:|mailto:)/i;

const purify = DOMPurify();
const ALLOWED_TAGS = ["p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "span"];
const ALLOWED_ATTR = ["href", "title", "start", "class"];

if (purify.isSupported) {
  purify.addHook("afterSanitizeAttributes", (node) => {
    // A code block that scrolls sideways must be reachable by keyboard (WCAG 2.1.1).
    if (node.tagName === "PRE") node.setAttribute("tabindex", "0");
    if (node.tagName !== "A") return;
    const href = node.getAttribute("href") ?? "";
    if (!SAFE_URL.test(href.trim())) node.removeAttribute("href");
    else {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow ugc");
    }
  });
}

/** Safe HTML for a message's text. */
export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false }) as string;
  return purify.sanitize(html, { ALLOWED_TAGS, ALLOWED_ATTR, ADD_ATTR: ["target", "rel"], ALLOW_DATA_ATTR: false });
}
