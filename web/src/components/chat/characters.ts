// The AI characters a conversation shows (names, avatars), each fetched once per page load.
import { useEffect, useState } from "react";
import type { ApiClient } from "../../lib/client";
import type { Character } from "../../lib/types";
import * as ep from "../../lib/endpoints";

const characterCache = new Map<number, Promise<Character | null>>();

export function loadCharacter(client: ApiClient, id: number): Promise<Character | null> {
  let p = characterCache.get(id);
  if (!p) {
    p = ep.character(client, id).catch(() => {
      // A failure (an ended session, a network blip) is not remembered: the next view asks again.
      characterCache.delete(id);
      return null;
    });
    characterCache.set(id, p);
  }
  return p;
}

export function useCharacters(client: ApiClient, ids: number[], epoch: number): Record<number, Character> {
  const [chars, setChars] = useState<Record<number, Character>>({});
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    let live = true;
    for (const id of key ? key.split(",").map(Number) : []) {
      void loadCharacter(client, id).then((c) => live && c && setChars((m) => (m[id] ? m : { ...m, [id]: c })));
    }
    return () => {
      live = false;
    };
  }, [client, key, epoch]);
  return chars;
}
