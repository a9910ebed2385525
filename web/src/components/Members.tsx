// Members of a group room or DM: roles, presence, invite, role changes, removal, leaving, and
// the AI characters that answer in the room.
import { useState } from "react";
import { useTranslation } from "../i18n";
import { useApp, useLoad } from "../appContext";
import * as ep from "../lib/endpoints.later";
import { friends as friendsRead, myCharacters } from "../lib/endpoints.later";
import type { Conversation, MemberRole } from "../lib/types";
import { personSeed } from "../lib/identity";
import { Avatar, ErrorBox, Field, Icon, Select } from "../ui";

const rank: Record<MemberRole, number> = { owner: 3, admin: 2, member: 1 };

export function MembersPanel({ conversation, online, tick, onClose, onLeft }: { conversation: Conversation; online: Set<number>; tick: number; onClose(): void; onLeft(): void }) {
  const app = useApp();
  const { client, user, status } = app;
  const { t } = useTranslation();
  const isOnline = (uid: number) => online.has(uid) || (uid === user.id && status === "open");
  const id = conversation.id;
  const members = useLoad(...ep.members(app, id, tick));
  const friends = useLoad(...friendsRead(client));
  const mine = useLoad(...myCharacters(client));
  const [error, setError] = useState<unknown>(null);
  const [invite, setInvite] = useState("");
  const [character, setCharacter] = useState("");
  const me = members.data?.find((m) => m.user_id === user.id);
  const myRank = me ? rank[me.role] : 0;
  const isGroup = conversation.kind === "group";
  const canManage = isGroup && myRank >= 2;

  async function act(f: () => Promise<unknown>): Promise<boolean> {
    setError(null);
    try {
      await f();
      members.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }

  const candidates = (friends.data ?? []).filter((f) => !members.data?.some((m) => m.user_id === f.user.id));

  return (
    <aside className="side-panel" aria-label={t("chats.members")}>
      <div className="pane-head">
        <h3>{t("chats.members")} {members.data ? `(${members.data.length})` : ""}</h3>
        <button type="button" className="ghost" onClick={onClose} aria-label={t("members.close")}>
          ×
        </button>
      </div>
      <ErrorBox error={members.error ?? error} onDismiss={() => setError(null)} />
      <ul className="plain-list members">
        {members.data?.map((m) => (
          <li key={m.user_id} className="member">
            <div className="row">
              <Avatar name={m.display_name || m.username} url={m.avatar_url} seed={personSeed(m.user_id)} size={30} online={isOnline(m.user_id)} />
              <div className="grow">
                <div className="ellipsis">
                  {m.display_name || m.username} {m.user_id === user.id && <span className="muted">{t("members.you")}</span>}
                </div>
                <div className="muted small">
                  <span className={`role role-${m.role}`}>{t(`members.role_${m.role}`)}</span> <span className="presence">{isOnline(m.user_id) ? t("members.online") : t("members.offline")}</span>
                </div>
              </div>
            </div>
            {canManage && m.user_id !== user.id && rank[m.role] < myRank + (me?.role === "owner" ? 1 : 0) && (
              <div className="row member-actions">
                <label className="sr-only" htmlFor={`role-${m.user_id}`}>
                  {t("members.roleOf", { name: m.username })}
                </label>
                <select
                  id={`role-${m.user_id}`}
                  value={m.role}
                  onChange={(e) => act(() => ep.setMemberRole(app, id, m.user_id, e.target.value))}
                >
                  <option value="member">{t("members.role_member")}</option>
                  <option value="admin">{t("members.role_admin")}</option>
                  {me?.role === "owner" && <option value="owner">{t("members.transfer")}</option>}
                </select>
                <button type="button" className="link danger-text" onClick={() => act(() => ep.removeMember(app, id, m.user_id))}>
                  {t("members.remove")}
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {canManage && (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            const uid = Number(invite);
            if (uid) void act(() => ep.addMember(app, id, uid)).then((ok) => ok && setInvite(""));
          }}
        >
          {candidates.length ? (
            <Select label={t("members.inviteFriend")} value={invite} onChange={setInvite} options={[["", t("members.choose")], ...candidates.map((f) => [String(f.user.id), f.user.username] as [string, string])]} />
          ) : (
            <Field label={t("members.inviteById")} inputMode="numeric" value={invite} onChange={(e) => setInvite(e.target.value.replace(/\D/g, ""))} hint={t("members.inviteHint")} />
          )}
          <button type="submit" className="small" disabled={!invite}>
            <Icon name="plus" size={14} /> {t("members.invite")}
          </button>
        </form>
      )}
      {canManage && (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            if (character) void act(() => ep.addRoomCharacter(app, id, Number(character))).then((ok) => ok && setCharacter(""));
          }}
        >
          <Select label={t("members.addCharacter")} value={character} onChange={setCharacter} options={[["", t("members.choose")], ...(mine.data?.items ?? []).map((c) => [String(c.id), c.name] as [string, string])]} />
          <button type="submit" className="small" disabled={!character}>
            {t("members.addCharacterButton")}
          </button>
        </form>
      )}
      {isGroup && (
        <button
          type="button"
          className="danger small"
          onClick={() => {
            if (confirm(t("members.confirmLeave"))) void act(() => ep.removeMember(app, id, user.id)).then((ok) => ok && onLeft());
          }}
        >
          {t("members.leave")}
        </button>
      )}
    </aside>
  );
}
