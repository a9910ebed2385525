/** The key parts of a keydown that decide whether Enter sends. */
export interface KeyLike {
  key: string;
  shiftKey: boolean;
  isComposing?: boolean;
  keyCode?: number;
}

/**
 * Enter sends; Shift+Enter is a new line. Enter while an input method is composing (Korean,
 * Japanese, Chinese: `isComposing`, or keyCode 229 that some browsers send instead) only
 * finishes the syllable and must not send the half-typed message.
 */
export function isSendKey(e: KeyLike): boolean {
  if (e.key !== "Enter" || e.shiftKey) return false;
  return !e.isComposing && e.keyCode !== 229;
}
