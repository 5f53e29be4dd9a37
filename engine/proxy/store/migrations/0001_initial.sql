-- Vertexlate proxy store, version 1: teams, users, virtual keys, spend logs.
-- One SQL text for SQLite and PostgreSQL: times are epoch seconds (DOUBLE PRECISION), lists and
-- objects are JSON text, flags are integers. One statement per ';'.
CREATE TABLE vx_teams (
  team_id TEXT PRIMARY KEY,
  team_alias TEXT,
  members_with_roles TEXT NOT NULL DEFAULT '[]',
  models TEXT NOT NULL DEFAULT '[]',
  max_budget DOUBLE PRECISION,
  soft_budget DOUBLE PRECISION,
  spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  budget_duration TEXT,
  budget_reset_at DOUBLE PRECISION,
  rpm_limit BIGINT,
  tpm_limit BIGINT,
  max_parallel_requests BIGINT,
  metadata TEXT NOT NULL DEFAULT '{}',
  blocked INTEGER NOT NULL DEFAULT 0,
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE vx_users (
  user_id TEXT PRIMARY KEY,
  user_alias TEXT,
  user_email TEXT,
  user_role TEXT,
  teams TEXT NOT NULL DEFAULT '[]',
  models TEXT NOT NULL DEFAULT '[]',
  max_budget DOUBLE PRECISION,
  soft_budget DOUBLE PRECISION,
  spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  budget_duration TEXT,
  budget_reset_at DOUBLE PRECISION,
  rpm_limit BIGINT,
  tpm_limit BIGINT,
  max_parallel_requests BIGINT,
  metadata TEXT NOT NULL DEFAULT '{}',
  blocked INTEGER NOT NULL DEFAULT 0,
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE vx_keys (
  token TEXT PRIMARY KEY,
  key_name TEXT NOT NULL,
  key_alias TEXT,
  user_id TEXT,
  team_id TEXT,
  models TEXT NOT NULL DEFAULT '[]',
  max_budget DOUBLE PRECISION,
  soft_budget DOUBLE PRECISION,
  spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  budget_duration TEXT,
  budget_reset_at DOUBLE PRECISION,
  rpm_limit BIGINT,
  tpm_limit BIGINT,
  max_parallel_requests BIGINT,
  expires DOUBLE PRECISION,
  metadata TEXT NOT NULL DEFAULT '{}',
  blocked INTEGER NOT NULL DEFAULT 0,
  created_at DOUBLE PRECISION NOT NULL,
  updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX vx_keys_user ON vx_keys (user_id);
CREATE INDEX vx_keys_team ON vx_keys (team_id);
CREATE INDEX vx_keys_alias ON vx_keys (key_alias);
CREATE TABLE vx_spend_logs (
  request_id TEXT PRIMARY KEY,
  api_key TEXT,
  user_id TEXT,
  team_id TEXT,
  call_type TEXT,
  model_group TEXT,
  model TEXT,
  model_id TEXT,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  cached_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0,
  spend DOUBLE PRECISION,
  start_time DOUBLE PRECISION NOT NULL,
  end_time DOUBLE PRECISION NOT NULL,
  latency_ms DOUBLE PRECISION NOT NULL,
  status TEXT NOT NULL,
  error_type TEXT,
  metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX vx_spend_logs_key ON vx_spend_logs (api_key, start_time);
CREATE INDEX vx_spend_logs_time ON vx_spend_logs (start_time);
CREATE INDEX vx_spend_logs_user ON vx_spend_logs (user_id);
CREATE INDEX vx_spend_logs_team ON vx_spend_logs (team_id);
