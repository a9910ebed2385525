// A server's settings for its owner and admins: name, description, visibility, and a new invite
// code (the old one stops working). The API decides who may.
import { useState } from "react";
import { useApp } from "../../appContext";
import { useTranslation } from "../../i18n";
import * as E from "../../lib/endpoints.later";
import type { Server } from "../../lib/types";
import { ErrorBox, Field, Modal, Select, fieldError } from "../../ui";

export function ServerSettings({ server, onClose, onSaved }: { server: Server; onClose(): void; onSaved(s: Server): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [name, setName] = useState(server.name);
  const [description, setDescription] = useState(server.description ?? "");
  const [visibility, setVisibility] = useState<string>(server.visibility);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function save(body: Parameters<typeof E.updateServer>[2]) {
    setBusy(true);
    setError(null);
    try {
      onSaved(await E.updateServer(app, server.id, body));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={t("servers.settingsTitle", { name: server.name })} onClose={onClose}>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void save({ name: name.trim(), description, visibility });
        }}
      >
        <Field label={t("servers.name")} value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} error={fieldError(error, "name")} />
        <Field label={t("servers.description")} multiline rows={2} value={description} onChange={(e) => setDescription(e.target.value)} error={fieldError(error, "description")} />
        <Select label={t("servers.visibility")} value={visibility} onChange={setVisibility} options={[["private", t("servers.private")], ["public", t("servers.public")]]} />
        <div className="row small">
          <span className="grow">
            {t("servers.inviteCode")}: <code>{server.invite_code}</code>
          </span>
          <button type="button" className="small" disabled={busy} onClick={() => void save({ rotate_invite_code: true })}>
            {t("servers.newInvite")}
          </button>
        </div>
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="primary" disabled={busy || !name.trim()}>
            {t("common.save")}
          </button>
        </div>
      </form>
    </Modal>
  );
}
