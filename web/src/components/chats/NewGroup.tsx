// Starting a group room: name, description, who can join. Its own chunk, loaded when opened.
import { useState } from "react";
import { useTranslation } from "../../i18n";
import { useApp } from "../../appContext";
import type { Conversation } from "../../lib/types";
import { ErrorBox, Field, Modal, Select } from "../../ui";
import * as ep from "../../lib/endpoints.later";

export function NewGroup({ onClose, onCreated }: { onClose(): void; onCreated(c: Conversation): void }) {
  const app = useApp();
  const { t } = useTranslation();
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [visibility, setVisibility] = useState("private");
  const [error, setError] = useState<unknown>(null);
  return (
    <Modal title={t("chats.newGroup")} onClose={onClose}>
      <form
        className="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            onCreated(await ep.createConversation(app, { kind: "group", title, description, visibility }));
          } catch (err) {
            setError(err);
          }
        }}
      >
        <Field label={t("chats.name")} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={100} />
        <Field label={t("chats.description")} multiline value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />
        <Select
          label={t("chats.whoCanJoin")}
          value={visibility}
          onChange={setVisibility}
          options={[
            ["private", t("chats.private")],
            ["public", t("chats.public")],
          ]}
        />
        <ErrorBox error={error} />
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="primary">
            {t("common.create")}
          </button>
        </div>
      </form>
    </Modal>
  );
}
