// A channel's settings for the server's owner and admins: rename, topic, delete.
import { useState } from "react";
import { useApp } from "../../appContext";
import { useTranslation } from "../../i18n";
import * as E from "../../lib/endpoints.later";
import type { Conversation } from "../../lib/types";
import { ErrorBox, Field, Modal, fieldError } from "../../ui";

export function ChannelSettings({ serverId, channel, onClose, onSaved, onDeleted }: { serverId: number; channel: Conversation; onClose(): void; onSaved(): void; onDeleted(): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [name, setName] = useState(channel.title);
  const [topic, setTopic] = useState(channel.description ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function act(f: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={t("servers.channelSettingsTitle", { name: channel.title })} onClose={onClose}>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await E.updateChannel(app, serverId, channel.id, { name: name.trim(), description: topic });
            onSaved();
          });
        }}
      >
        <Field label={t("servers.channelName")} hint={t("servers.channelHint")} value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} error={fieldError(error, "name")} />
        <Field label={t("servers.topic")} value={topic} onChange={(e) => setTopic(e.target.value)} error={fieldError(error, "description")} />
        <ErrorBox error={error} />
        <div className="row spread">
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => {
              if (confirm(t("servers.confirmDeleteChannel", { name: channel.title })))
                void act(async () => {
                  await E.deleteChannel(app, serverId, channel.id);
                  onDeleted();
                });
            }}
          >
            {t("servers.deleteChannel")}
          </button>
          <span className="row">
            <button type="button" className="ghost" onClick={onClose}>
              {t("common.cancel")}
            </button>
            <button type="submit" className="primary" disabled={busy || !name.trim()}>
              {t("common.save")}
            </button>
          </span>
        </div>
      </form>
    </Modal>
  );
}
