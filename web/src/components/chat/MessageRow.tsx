// One row of the virtualized list: the date separator above a day's first message, then the
// message. Memoized: while the list scrolls only rows that come into view render, the others
// keep their props (the row, and actions that never change identity).
import { memo } from "react";
import type { LaidOut } from "../../lib/messageLayout";
import type { CharacterFaces } from "../../lib/identity";
import { Bubble, type BubbleProps } from "./Bubble";
import { DaySeparator } from "./DaySeparator";

export type BubbleActions = Pick<
  BubbleProps,
  "onEdit" | "onCancelEdit" | "onSaveEdit" | "onDelete" | "onRetry" | "onDiscard" | "onSelectVariant" | "onRegenerate" | "onContinue" | "onRerun" | "onBranch"
>;

export interface MessageRowProps {
  row: LaidOut;
  me: number;
  characters: CharacterFaces;
  names: Record<number, string>;
  highlighted: boolean;
  editing: boolean;
  online: Set<number>;
  limit: number;
  actions: BubbleActions;
  tree?: boolean;
  last?: boolean;
  busy?: boolean;
}

export const MessageRow = memo(function MessageRow({ row, me, characters, names, highlighted, editing, online, limit, actions, tree, last, busy }: MessageRowProps) {
  return (
    <div className={`msg-row${row.grouped ? " grouped" : ""}`}>
      {row.day && <DaySeparator day={row.day} />}
      <Bubble grouped={row.grouped} item={row.item} me={me} characters={characters} names={names} highlighted={highlighted} editing={editing} online={online} limit={limit} tree={tree} last={last} busy={busy} {...actions} />
    </div>
  );
});
