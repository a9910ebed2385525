// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../src/lib/markdown";

function dom(html: string): HTMLElement {
  const div = document.createElement("div");
  div.innerHTML = html;
  return div;
}

describe("message markdown", () => {
  it("renders roleplay actions as emphasis and keeps the words", () => {
    const d = dom(renderMarkdown("*waves hand* Hello **there**"));
    expect(d.querySelector("em")?.textContent).toBe("waves hand");
    expect(d.querySelector("strong")?.textContent).toBe("there");
    expect(d.textContent?.trim()).toBe("waves hand Hello there");
  });

  it("makes http links clickable, in a new tab, without an opener", () => {
    const a = dom(renderMarkdown("see [the docs](https://example.com/x) and https://example.org")).querySelectorAll("a");
    expect([...a].map((x) => x.getAttribute("href"))).toEqual(["https://example.com/x", "https://example.org"]);
    for (const x of a) {
      expect(x.getAttribute("target")).toBe("_blank");
      expect(x.getAttribute("rel")).toContain("noopener");
    }
  });

  it("shows raw HTML as text: no script, no event handler, no iframe", () => {
    const src = `<script>window.pwned=1</script><img src=x onerror="window.pwned=1"><iframe src="https://evil.example"></iframe><b onclick="x()">bold</b>`;
    const d = dom(renderMarkdown(src));
    expect(d.querySelector("script, img, iframe, b")).toBeNull();
    expect(d.innerHTML).not.toMatch(/<(script|img|iframe)/i);
    const handlers = [...d.querySelectorAll("*")].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith("on"));
    expect(handlers).toEqual([]);
    expect(d.textContent).toContain("<script>window.pwned=1</script>");
  });

  it("drops javascript:, data: and vbscript: link targets but keeps the words", () => {
    const d = dom(renderMarkdown("[click](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>) [vb](vbscript:msgbox) [ok](mailto:a@b.c)"));
    const hrefs = [...d.querySelectorAll("a")].map((a) => a.getAttribute("href"));
    expect(hrefs.filter((h) => h && !/^mailto:/.test(h))).toEqual([]);
    expect(d.textContent).toContain("click");
    expect(d.innerHTML).not.toMatch(/javascript:|vbscript:|data:text/i);
  });

  it("turns images into links (no remote pictures in messages)", () => {
    const d = dom(renderMarkdown("![cat](https://example.com/cat.png)"));
    expect(d.querySelector("img")).toBeNull();
    expect(d.querySelector("a")?.getAttribute("href")).toBe("https://example.com/cat.png");
  });

  it("keeps code as code", () => {
    const d = dom(renderMarkdown("```\n<b>x</b>\n```"));
    expect(d.querySelector("pre code")?.textContent).toBe("<b>x</b>\n");
  });
});
