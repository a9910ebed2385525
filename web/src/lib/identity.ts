// One identity everywhere: a person shows with the same name and avatar colour in the
// conversation header, their messages, "is typing" and the members panel; an AI character with
// its name and picture, to every member of a room (from the message itself, since a private
// character's card is readable by its owner only).
import type { Member, Message } from "./types";

/** What shows for someone: the name, a picture if any, and the seed of the avatar's colour. */
export interface Face {
  name: string;
  avatarUrl?: string | null;
  seed: string;
}

export const personSeed = (userId: number) => `u${userId}`;
export const characterSeed = (characterId: number) => `c${characterId}`;

/** AI characters' names and pictures by id (a loaded card, or what the messages say). */
export type CharacterFaces = Record<number, { name: string; avatar_url?: string | null }>;

/** Display names by user id, from a conversation's members (display name, else username). */
export function namesFromMembers(members: readonly Pick<Member, "user_id" | "username" | "display_name">[] | null | undefined): Record<number, string> {
  const names: Record<number, string> = {};
  for (const m of members ?? []) names[m.user_id] = m.display_name || m.username;
  return names;
}

export function personFace(names: Record<number, string>, userId: number | null | undefined, username: string | null | undefined): Face {
  if (userId == null) return { name: username ?? "?", seed: username ?? "?" };
  return { name: names[userId] ?? username ?? "?", seed: personSeed(userId) };
}

/** Characters' names and pictures as the messages carry them (the newest message wins). */
export function charactersFromMessages(messages: readonly Message[]): CharacterFaces {
  const out: CharacterFaces = {};
  for (const m of messages) {
    if (m.character_id && m.character_name) out[m.character_id] = { name: m.character_name, avatar_url: m.character_avatar_url ?? null };
  }
  return out;
}

export function characterFace(known: CharacterFaces, characterId: number | null | undefined, fallback: string): Face {
  const c = characterId ? known[characterId] : undefined;
  return { name: c?.name ?? fallback, avatarUrl: c?.avatar_url ?? null, seed: characterId ? characterSeed(characterId) : fallback };
}
