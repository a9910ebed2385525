// The API's JSON shapes (snake_case, as the server sends them), generated from the OpenAPI
// document (api-schema.d.ts). Only admin-stats (a service with its own document, not fetched yet)
// is kept by hand, below; see web/README.md, "Generated types".
import type { Schemas } from "./client";

export type User = Schemas["UserView"];
export type TokenResponse = Schemas["TokenResponse"];
export type Character = Schemas["CharacterView"];
export type FriendRequest = Schemas["FriendRequestView"];
export type Friend = Schemas["FriendView"];
export type Block = Schemas["BlockView"];
export type CommonPrompt = Schemas["PromptView"];

export type Message = Schemas["MessageView"];
export type MessagePage = Schemas["MessagePage"];
export type SendResponse = Schemas["SendMessageResponse"];
export type MessageStatus = Schemas["MessageStatus"];
export type ServerMember = Schemas["ServerMemberView"];
export type Story = Schemas["StoryView"];
export type NewStory = Schemas["CreateStoryRequest"];

// Where the document still says `string` (no enum) or `object`, the generated type is the base
// and these narrow it: a renamed or removed field still breaks the build.
export type Role = "user" | "admin";
export type Visibility = "private" | "public";
export type ConversationKind = "ai_chat" | "direct" | "group" | "channel";
export type MemberRole = "owner" | "admin" | "member";

/** `ConversationView` with its enums and `last_message` (a `MessageView`; the document says `object`). */
export type Conversation = Omit<Schemas["ConversationView"], "kind" | "visibility" | "role" | "last_message"> & {
  kind: ConversationKind;
  visibility: Visibility;
  role?: MemberRole | null;
  last_message?: Message | null;
};
export type Member = Omit<Schemas["MemberView"], "role"> & { role: MemberRole };
export type Server = Omit<Schemas["ServerView"], "visibility" | "role" | "channels"> & {
  visibility: Visibility;
  role?: MemberRole | null;
  channels?: Conversation[] | null;
};

/** The pages the document describes (`Page_ConversationView`, …), over the narrowed items. */
export type Page<T> = { items: T[]; limit: number; offset: number; total?: number };

// ---- admin-stats ----

export interface AdminUser {
  id: number;
  username: string;
  email: string;
  display_name: string;
  role: Role;
  is_active: boolean;
  created_at: string;
  last_active_at: string | null;
  message_count: number;
  messages_month: number;
  tokens_month: number;
}

export interface UsageTotals {
  messages: number;
  replies: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface AdminUserDetail extends AdminUser {
  bio: string;
  avatar_url: string | null;
  updated_at: string;
  conversations: number;
  this_month: UsageTotals;
  all_time: UsageTotals;
}

export interface AdminConversation {
  id: number;
  kind: ConversationKind;
  title: string;
  character_id: number | null;
  server_id: number | null;
  owner_id: number | null;
  role: string;
  created_at: string;
  last_message_at: string | null;
  last_message: Message | null;
}

export interface AdminMessagePage {
  items: Message[];
  limit: number;
  oldest_id: number | null;
  newest_id: number | null;
}

export interface UsageItem {
  day?: string;
  model?: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  replies: number;
  messages?: number;
  conversations?: number;
}

export interface UserUsage {
  user_id: number;
  from: string;
  to: string;
  group_by: string;
  totals: UsageTotals & { conversations?: number };
  items: UsageItem[];
}

export interface Tokens {
  prompt: number;
  completion: number;
  total: number;
}

export interface Generations {
  ok: number;
  failed: number;
  cancelled: number;
  total: number;
}

export interface Latency {
  samples: number;
  mean: number | null;
  p50: number | null;
  p99: number | null;
}


export interface Overview {
  from: string;
  to: string;
  days: number;
  users: { total: number; new: number; active: number; monthly_active: number; daily_active_avg: number };
  messages: { user: number; ai: number; total: number };
  tokens: Tokens;
  generations: Generations;
  latency_ms: Latency;
  daily: {
    day: string;
    new_users: number;
    active_users: number;
    user_messages: number;
    ai_messages: number;
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    failed: number;
    cancelled: number;
  }[];
  by_model: { model: string; provider: string; generations: Generations; tokens: Tokens; latency_ms: Latency }[];
  by_provider: { provider: string; generations: Generations; tokens: Tokens }[];
  top_characters: { character_id: number; name: string | null; messages: number }[];
}

export interface Realtime {
  generated_at: string;
  gateways: {
    replicas: number;
    connections: number;
    subscriptions: number;
    nodes: {
      node_id: string;
      alive: boolean;
      connections: number | null;
      subscriptions: number | null;
      users: number | null;
      channels: number | null;
      started_at: string | null;
      heartbeat_at: string | null;
    }[];
  };
  jobs: {
    stream: string;
    length: number;
    dead_letters: number;
    groups: { name: string; consumers: number; pending: number; lag: number | null; last_delivered_id: string }[];
  };
  streams: { name: string; length: number }[];
}
