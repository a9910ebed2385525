// Syntax highlighting for code blocks in messages: highlight.js core with the languages people
// paste most, in a chunk of its own that loads only when a message has a code block. Its output
// is escaped text in <span class="hljs-…"> and still goes through the Markdown sanitizer.
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import kotlin from "highlight.js/lib/languages/kotlin";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const languages = { bash, c, cpp, css, go, java, javascript, json, kotlin, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(languages)) hljs.registerLanguage(name, lang);

/** Highlighted HTML for `code`, or null when the language is not one of ours (then it stays plain). */
export function highlightCode(code: string, lang: string): string | null {
  const name = lang.trim().toLowerCase();
  if (!/^[a-z0-9+#-]{1,20}$/.test(name) || !hljs.getLanguage(name)) return null;
  return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
}
