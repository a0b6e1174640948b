-- The one schema of Ops Control Room. Every state change of a run goes through a function in 0002_ops_functions.sql.
create schema if not exists ops;

create table ops.sessions (
  id          uuid primary key default gen_random_uuid(),
  title       text not null check (length(btrim(title)) between 1 and 200),
  intent      text not null default '',
  status      text not null default 'active' check (status in ('active', 'archived')),
  lanes       text[] not null default array['A', 'B', 'C', 'D'] check (cardinality(lanes) between 1 and 26),
  -- the repository the session works on: repo_id is stable across machines (the root commit hash)
  repo_id     text,
  repo_url    text,
  repo_path   text,
  base_ref    text,
  created_by  text,
  created_at  timestamptz not null default now(),
  archived_at timestamptz
);
create index sessions_active on ops.sessions (created_at desc) where status = 'active';

create table ops.runs (
  id                  uuid primary key default gen_random_uuid(),
  -- queue order inside one priority: a strictly increasing number is a cheaper and exact tie-break than a timestamp
  seq                 bigint generated always as identity,
  session_id          uuid not null references ops.sessions (id) on delete cascade,
  lane                text not null,
  intent              text not null check (length(btrim(intent)) > 0),
  executor            text not null default 'shell' check (executor in ('shell', 'agent', 'runbook')),
  spec                jsonb not null default '{}'::jsonb check (jsonb_typeof(spec) = 'object'),
  priority            integer not null default 100,
  status              text not null default 'queued'
                      check (status in ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  attempt             integer not null default 0 check (attempt >= 0),
  max_attempts        integer not null default 3 check (max_attempts >= 1),
  claimed_by          text,
  claimed_at          timestamptz,
  heartbeat_at        timestamptz,
  lease_expires_at    timestamptz,
  cancel_requested_at timestamptz,
  created_at          timestamptz not null default now(),
  started_at          timestamptz,
  finished_at         timestamptz,
  exit_code           integer,
  error               text,
  retry_of            uuid references ops.runs (id) on delete set null,
  updated_at          timestamptz not null default now(),
  check (status <> 'running' or (claimed_by is not null and lease_expires_at is not null))
);
-- Invariant 2, backed by the database itself: at most one running run per (session, lane).
create unique index runs_one_running_per_lane on ops.runs (session_id, lane) where status = 'running';
-- The next queued run of a lane: priority, then age.
create index runs_lane_queue on ops.runs (session_id, lane, priority, seq) where status = 'queued';
-- Expired leases are found without touching finished runs.
create index runs_running_lease on ops.runs (lease_expires_at) where status = 'running';
create index runs_session on ops.runs (session_id, seq desc);
create index runs_retry_of on ops.runs (retry_of) where retry_of is not null;

-- One row per (session, lane): which run holds the lane and which queued run comes next. Claiming walks this small
-- table in queue order instead of the runs, so a lane whose run is still going costs nothing however long its queue is.
create table ops.lanes (
  session_id     uuid not null references ops.sessions (id) on delete cascade,
  lane           text not null,
  repo_id        text,
  running_run_id uuid,
  head_run_id    uuid,
  head_priority  integer,
  head_seq       bigint,
  primary key (session_id, lane)
);
create index lanes_ready on ops.lanes (head_priority, head_seq)
  where running_run_id is null and head_run_id is not null;

create table ops.run_events (
  run_id uuid not null references ops.runs (id) on delete cascade,
  seq    bigint not null check (seq >= 1),
  ts     timestamptz not null default now(),
  stream text not null check (stream in ('stdout', 'stderr', 'system')),
  level  text not null default 'info' check (level in ('debug', 'info', 'warn', 'error')),
  text   text not null,
  data   jsonb,
  primary key (run_id, seq)
);

create table ops.artifacts (
  id         uuid primary key default gen_random_uuid(),
  run_id     uuid not null references ops.runs (id) on delete cascade,
  kind       text not null check (kind in ('diff', 'file', 'link', 'log', 'manifest')),
  name       text not null check (length(name) > 0),
  mime       text not null default 'text/plain',
  size       bigint not null check (size >= 0),
  sha256     text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  content    text,
  meta       jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  unique (run_id, kind, name)
);

create table ops.run_steps (
  run_id      uuid not null references ops.runs (id) on delete cascade,
  idx         integer not null check (idx >= 0),
  name        text not null,
  kind        text not null check (kind in ('shell', 'agent', 'approval')),
  status      text not null default 'queued'
              check (status in ('queued', 'running', 'succeeded', 'failed', 'canceled', 'skipped')),
  started_at  timestamptz,
  finished_at timestamptz,
  exit_code   integer,
  error       text,
  primary key (run_id, idx)
);

create table ops.workers (
  id             text primary key check (length(id) between 1 and 200),
  host           text not null,
  pid            integer,
  concurrency    integer not null check (concurrency >= 1),
  labels         jsonb not null default '{}'::jsonb,
  version        text,
  state          text not null default 'running' check (state in ('running', 'draining', 'stopped')),
  started_at     timestamptz not null default now(),
  last_heartbeat timestamptz not null default now()
);

create table ops.templates (
  id          uuid primary key default gen_random_uuid(),
  name        text not null unique,
  description text not null default '',
  inputs      jsonb not null default '[]'::jsonb,
  steps       jsonb not null default '[]'::jsonb,
  created_at  timestamptz not null default now()
);

-- Who watches runs and logs now (an editor's Sessions tree, a Runboard, `ocr logs --follow`): run and log notifications
-- are sent only while someone does, because a transaction that sends NOTIFY commits under a global lock, one at a time.
-- A watcher renews its row well before it expires; a crashed one stops costing notifications once it has expired.
create table ops.watchers (
  id         text primary key,
  expires_at timestamptz not null
);
