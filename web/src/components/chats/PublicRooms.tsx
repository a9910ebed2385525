// The public rooms one can join. Its own chunk, loaded when opened.
import { useState } from "react";
import { useTranslation } from "../../i18n";
import { useApp, useLoad } from "../../appContext";
import { Avatar, ErrorBox, Modal, Spinner } from "../../ui";
import * as ep from "../../lib/endpoints.later";

export function PublicRooms({ onClose, onJoined }: { onClose(): void; onJoined(id: number): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const rooms = useLoad(...ep.publicRooms(app));
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal title={t("chats.publicRooms")} onClose={onClose} wide>
      <ErrorBox error={rooms.error ?? error} />
      {rooms.loading && <Spinner />}
      {rooms.data && !rooms.data.items.length && <p className="muted">{t("chats.noPublicRooms")}</p>}
      <ul className="plain-list">
        {rooms.data?.items.map((r) => (
          <li key={r.id} className="row">
            <Avatar name={r.title} />
            <div className="grow">
              <strong>{r.title}</strong>
              <div className="muted small">{r.description}</div>
            </div>
            <button
              type="button"
              className="primary small"
              onClick={async () => {
                try {
                  await ep.joinRoom(app, r.id);
                  onJoined(r.id);
                } catch (e) {
                  setError(e);
                }
              }}
            >
              {t("chats.join")}
            </button>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
