// @vitest-environment jsdom
// Code blocks: highlighted once the highlighter is on, and hostile content in or around a code
// block stays text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { highlightCode } from "../src/lib/highlight";
import { hasHighlightableCode, renderMarkdown, setHighlighter } from "../src/lib/markdown";

function dom(html: string): HTMLElement {
  const div = document.createElement("div");
  div.innerHTML = html;
  return div;
}

describe("code highlighting", () => {
  beforeAll(() => setHighlighter(highlightCode));
  afterAll(() => setHighlighter(() => null));

  it("asks for the highlighter only for a fenced block that names a language", () => {
    expect(hasHighlightableCode("```rust\nfn main() {}\n```")).toBe(true);
    expect(hasHighlightableCode("say ```rust``` inline")).toBe(false);
    expect(hasHighlightableCode("```\nplain\n```")).toBe(false);
  });

  it("colours a known language and keeps the code's text", () => {
    const d = dom(renderMarkdown("```rust\nfn main() { let x = \"hi\"; }\n```"));
    const code = d.querySelector("pre code")!;
    expect(code.className).toBe("hljs language-rust");
    expect(code.querySelector(".hljs-keyword")?.textContent).toBe("fn");
    expect(code.querySelector(".hljs-string")?.textContent).toBe('"hi"');
    expect(code.textContent).toBe('fn main() { let x = "hi"; }\n');
    // Scrolls sideways when long: reachable by keyboard.
    expect(d.querySelector("pre")?.getAttribute("tabindex")).toBe("0");
  });

  it("leaves an unknown language plain, without taking its name into the markup", () => {
    const d = dom(renderMarkdown('```"><img src=x onerror=alert(1)>\n<b>x</b>\n```'));
    expect(d.querySelector("img, b")).toBeNull();
    expect(d.querySelector("pre code")?.getAttribute("class")).toBeNull();
    expect(d.querySelector("pre code")?.textContent).toBe("<b>x</b>\n");
  });

  it("keeps hostile code inert inside a highlighted block", () => {
    const src = "```html\n</code></pre><script>window.pwned=1</script><img src=x onerror=\"window.pwned=1\">\n```";
    const d = dom(renderMarkdown(src));
    expect(d.querySelector("script, img")).toBeNull();
    const handlers = [...d.querySelectorAll("*")].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith("on"));
    expect(handlers).toEqual([]);
    expect(d.querySelector("pre code")?.textContent).toContain("<script>window.pwned=1</script>");
  });

  it("keeps links clickable next to code", () => {
    const d = dom(renderMarkdown("see https://example.com/a\n\n```js\nconst a = 1;\n```"));
    expect(d.querySelector("a")?.getAttribute("href")).toBe("https://example.com/a");
    expect(d.querySelector("pre code .hljs-keyword")?.textContent).toBe("const");
  });
});
