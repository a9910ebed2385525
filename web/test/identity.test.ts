// One identity everywhere: the same name and avatar seed for a person wherever they show, and an
// AI character's name and picture from the messages themselves.
import { describe, expect, it } from "vitest";
import { characterFace, charactersFromMessages, namesFromMembers, personFace } from "../src/lib/identity";
import type { Message } from "../src/lib/types";

const msg = (extra: Partial<Message>): Message => ({
  id: 1, conversation_id: 7, author_id: null, author_username: null, character_id: null, role: "assistant",
  message_type: "text", content: "", reply_to_id: null, status: "complete", model: null, prompt_tokens: null,
  completion_tokens: null, client_id: null, job_id: null, created_at: "2026-01-01T00:00:00Z", edited_at: null,
  deleted_at: null, ...extra,
});

describe("identity", () => {
  it("names a person by their display name, else their username, with a seed from their id", () => {
    const names = namesFromMembers([
      { user_id: 1, username: "kirk", display_name: "James T. Kirk" },
      { user_id: 2, username: "spock", display_name: "" },
    ]);
    expect(personFace(names, 1, "kirk")).toEqual({ name: "James T. Kirk", seed: "u1" });
    expect(personFace(names, 2, "spock")).toEqual({ name: "spock", seed: "u2" });
    // Not (yet) a known member: the username the message or typing frame carries, same seed.
    expect(personFace(names, 3, "uhura")).toEqual({ name: "uhura", seed: "u3" });
    expect(personFace(names, 3, "uhura").seed).toBe(personFace({ 3: "Nyota" }, 3, "uhura").seed);
  });

  it("takes a character's name and picture from its messages, the newest winning", () => {
    const known = charactersFromMessages([
      msg({ id: 1, character_id: 9, character_name: "Old name", character_avatar_url: null }),
      msg({ id: 2, character_id: 9, character_name: "Seraphina", character_avatar_url: "https://x/s.png" }),
      msg({ id: 3, role: "user", author_id: 1, author_username: "kirk" }),
    ]);
    expect(known).toEqual({ 9: { name: "Seraphina", avatar_url: "https://x/s.png" } });
    expect(characterFace(known, 9, "AI")).toEqual({ name: "Seraphina", avatarUrl: "https://x/s.png", seed: "c9" });
    expect(characterFace(known, 4, "AI")).toEqual({ name: "AI", avatarUrl: null, seed: "c4" });
  });
});
