-- The schema of Ops Control Room, `ops`: its tables, then the functions through which every state change of a session
-- or a run goes, each guarded in its WHERE clause. This baseline is the schema that migrations 0001 to 0003 built;
-- changes come as new migrations after it, never as edits to it. Why the queue's SQL looks the way it does (the planner
-- settings, the answers straight from UPDATE, the wake-up of one worker): bench/README.md.
--
-- Errors carry their own SQLSTATE so clients can name them:
--   OC001 lease_lost     a worker wrote for a run it no longer holds (fencing)
--   OC002 not_found      no such session or run
--   OC003 invalid_input  a field is wrong; the message names it and what to do
--   OC004 invalid_state  the run or session is not in a state that allows the change
--
-- Lock order, to keep concurrent callers free of deadlocks: a lane row (ops.lanes) before any run row of that lane,
-- several lanes in (session_id, lane) order, several runs in id order. Finishing a run takes run row locks only.
--
-- Notifications: each function sends its own, once per call, with small payloads (it knows exactly what changed, which
-- a trigger on every run update would have to work out). ops_runs and ops_events go out only while a watcher is
-- registered in ops.watchers:
--   ops_queue    'worker-id' | ''              a run became claimable: the named worker claims first, '' means everyone
--   ops_runs     'session-id,session-id' | '*' runs of these sessions changed status
--   ops_events   'run-id:last-seq,…'           events were appended
--   ops_cancel   '{"run_id":…,"worker_id":…}'  a running run was asked to cancel
--   ops_sessions ''                            a session was created or changed

create schema if not exists ops;

-- Tables --------------------------------------------------------------------------------------------------------------

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
-- Invariant 2, backed by the database itself: at most one running run per (session, lane). It is also how a lane's
-- running run is found: the one row this index holds for the lane.
create unique index runs_one_running_per_lane on ops.runs (session_id, lane) where status = 'running';
-- The next queued run of a lane: priority, then age.
create index runs_lane_queue on ops.runs (session_id, lane, priority, seq) where status = 'queued';
-- Expired leases are found without touching finished runs.
create index runs_running_lease on ops.runs (lease_expires_at) where status = 'running';
create index runs_session on ops.runs (session_id, seq desc);
create index runs_retry_of on ops.runs (retry_of) where retry_of is not null;

-- One row per (session, lane) with the lane's next queued run, so that claiming walks this small table in queue order
-- instead of the runs. Which run holds the lane is not written here but read from runs_one_running_per_lane: finishing
-- a run then writes the run alone.
create table ops.lanes (
  session_id    uuid not null references ops.sessions (id) on delete cascade,
  lane          text not null,
  repo_id       text,
  head_run_id   uuid,
  head_priority integer,
  head_seq      bigint,
  primary key (session_id, lane)
);
comment on table ops.lanes is
  'One row per (session, lane): its next queued run (head_*). Its running run, if any, is in runs_one_running_per_lane.';
create index lanes_ready on ops.lanes (head_priority, head_seq) where head_run_id is not null;

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
-- Live workers: running, with a recent heartbeat. The index finds them among every worker ever registered.
create index workers_live on ops.workers (last_heartbeat) where state = 'running';

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

-- Helpers -------------------------------------------------------------------------------------------------------------

create function ops._raise(p_code text, p_message text, p_hint text default null) returns void
language plpgsql as $$
begin
  raise exception using errcode = p_code, message = p_message, hint = coalesce(p_hint, '');
end $$;

-- Raises OC001 for a run the worker does not hold at that attempt (OC002 if there is no such run), saying who does.
create function ops._lease_lost(p_run_id uuid, p_worker_id text, p_attempt integer) returns void
language plpgsql as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id));
  end if;
  perform ops._raise('OC001',
    format('lease lost: run %s attempt %s is not held by worker %s (the run is %s%s)', p_run_id, p_attempt, p_worker_id,
           r.status,
           case when r.status = 'running' then format(', held by %s at attempt %s', r.claimed_by, r.attempt) else '' end),
    'stop working on this run; its current holder, if any, owns it now');
end $$;

-- The next queued run of one lane, written into its lane row. Caller holds the lane row lock.
create function ops._refresh_lane_head(p_session_id uuid, p_lane text) returns void
language sql as $$
  update ops.lanes l
     set (head_run_id, head_priority, head_seq) =
         (select r.id, r.priority, r.seq from ops.runs r
           where r.session_id = p_session_id and r.lane = p_lane and r.status = 'queued'
           order by r.priority, r.seq limit 1)
   where l.session_id = p_session_id and l.lane = p_lane;
$$;

-- Whether anyone watches (see ops.watchers). PL/pgSQL rather than SQL, so that its plan is kept per connection.
create function ops._watched() returns boolean
language plpgsql stable as $$
begin
  return exists (select 1 from ops.watchers where expires_at > now());
end $$;

-- The worker a queue notification names to claim first: a live one, at random; null when none is live.
create function ops._first_worker() returns text
language plpgsql volatile as $$
begin
  return (select w.id from ops.workers w
           where w.state = 'running' and w.last_heartbeat > now() - interval '1 minute'
           order by random() limit 1);
end $$;

-- Tells watchers which sessions' runs changed, and workers that a run may be claimable (naming the one that claims
-- first; '' when none is live: everyone).
create function ops._notify_runs(p_sessions uuid[], p_claimable boolean default false) returns void
language plpgsql as $$
begin
  if cardinality(p_sessions) > 0 and ops._watched() then
    perform pg_notify('ops_runs', case when cardinality(p_sessions) > 50 then '*' else array_to_string(p_sessions, ',') end);
  end if;
  if p_claimable then
    perform pg_notify('ops_queue', coalesce(ops._first_worker(), ''));
  end if;
end $$;

-- Sessions ------------------------------------------------------------------------------------------------------------

create function ops.create_session(
  p_title text,
  p_intent text default '',
  p_lanes text[] default array['A', 'B', 'C', 'D'],
  p_repo_id text default null,
  p_repo_url text default null,
  p_repo_path text default null,
  p_base_ref text default null,
  p_created_by text default null
) returns ops.sessions
language plpgsql as $$
declare
  s ops.sessions;
  bad text;
begin
  if p_title is null or length(btrim(p_title)) = 0 then
    perform ops._raise('OC003', 'title: a session needs a title', 'give a short title, such as "Fix flaky tests"');
  end if;
  if length(btrim(p_title)) > 200 then
    perform ops._raise('OC003', 'title: at most 200 characters', 'shorten the title; put details in the intent');
  end if;
  if p_lanes is null or cardinality(p_lanes) = 0 or cardinality(p_lanes) > 26 then
    perform ops._raise('OC003', 'lanes: a session needs between 1 and 26 lanes', 'use lanes such as A,B,C,D');
  end if;
  select x into bad from unnest(p_lanes) x where x is null or x !~ '^[A-Za-z0-9_-]{1,16}$' limit 1;
  if found then
    perform ops._raise('OC003', format('lanes: %L is not a valid lane name', bad),
                       'a lane name is 1 to 16 letters, digits, "-" or "_"');
  end if;
  if (select count(distinct x) from unnest(p_lanes) x) <> cardinality(p_lanes) then
    perform ops._raise('OC003', 'lanes: a lane is listed twice', 'list each lane once');
  end if;
  insert into ops.sessions (title, intent, lanes, repo_id, repo_url, repo_path, base_ref, created_by)
  values (btrim(p_title), coalesce(p_intent, ''), p_lanes, p_repo_id, p_repo_url, p_repo_path, p_base_ref, p_created_by)
  returning * into s;
  return s;
end $$;

-- Archiving cancels what is queued and asks running runs to stop; the runs and their logs are kept.
create function ops.archive_session(p_session_id uuid) returns ops.sessions
language plpgsql as $$
declare
  s ops.sessions;
begin
  select * into s from ops.sessions where id = p_session_id for update;
  if not found then
    perform ops._raise('OC002', format('session %s does not exist', p_session_id), 'list sessions with `ocr session list`');
  end if;
  if s.status = 'archived' then
    return s;
  end if;
  perform 1 from ops.lanes where session_id = p_session_id order by session_id, lane for update;
  update ops.runs set status = 'canceled', finished_at = now(), updated_at = now(), error = 'session archived'
   where id in (select id from ops.runs where session_id = p_session_id and status = 'queued' order by id for update);
  update ops.lanes set head_run_id = null, head_priority = null, head_seq = null where session_id = p_session_id;
  perform ops._request_cancel(id) from ops.runs
    where session_id = p_session_id and status = 'running' and cancel_requested_at is null;
  update ops.sessions set status = 'archived', archived_at = now() where id = p_session_id returning * into s;
  perform ops._notify_runs(array[p_session_id]);
  return s;
end $$;

create function ops._notify_sessions_changed() returns trigger
language plpgsql as $$
begin
  perform pg_notify('ops_sessions', '');
  return null;
end $$;

create trigger sessions_changed after insert or update on ops.sessions
  for each statement execute function ops._notify_sessions_changed();

-- Runs and the queue: creating ----------------------------------------------------------------------------------------

-- The rows of a create_runs argument, with their defaults, in array order.
create function ops._runs_input(p_runs jsonb)
returns table (ord bigint, session_id uuid, lane text, intent text, executor text, spec jsonb, priority integer,
               max_attempts integer, retry_of uuid)
language sql immutable as $$
  select x.ord, (x.e ->> 'session_id')::uuid, x.e ->> 'lane', x.e ->> 'intent',
         coalesce(x.e ->> 'executor', 'shell'), coalesce(x.e -> 'spec', '{}'::jsonb),
         coalesce((x.e ->> 'priority')::integer, 100), coalesce((x.e ->> 'max_attempts')::integer, 3),
         (x.e ->> 'retry_of')::uuid
    from jsonb_array_elements(p_runs) with ordinality as x(e, ord);
$$;

-- Adds runs in one statement. p_runs is a JSON array of
-- {session_id, lane, intent, executor?, spec?, priority?, max_attempts?, retry_of?}; they queue in array order.
-- The first wrong run fails the whole call, naming its field.
create function ops.create_runs(p_runs jsonb) returns setof ops.runs
language plpgsql as $$
declare
  bad record;
begin
  if p_runs is null or jsonb_typeof(p_runs) <> 'array' then
    perform ops._raise('OC003', 'runs: expected a JSON array of runs');
  end if;

  -- one pass finds the first wrong run, if any
  select n.*, s.id as found_id, s.status as session_status, s.title, s.lanes,
         case when s.id is null then 'session'
              when s.status <> 'active' then 'archived'
              when n.lane is null or not (n.lane = any (s.lanes)) then 'lane'
              when n.intent is null or length(btrim(n.intent)) = 0 then 'intent'
              when n.executor not in ('shell', 'agent', 'runbook') then 'executor'
              when jsonb_typeof(n.spec) <> 'object' then 'spec'
              when n.max_attempts < 1 or n.max_attempts > 100 then 'max_attempts'
         end as problem
    into bad
    from ops._runs_input(p_runs) n left join ops.sessions s on s.id = n.session_id
   where s.id is null or s.status <> 'active' or n.lane is null or not (n.lane = any (s.lanes))
      or n.intent is null or length(btrim(n.intent)) = 0 or n.executor not in ('shell', 'agent', 'runbook')
      or jsonb_typeof(n.spec) <> 'object' or n.max_attempts < 1 or n.max_attempts > 100
   limit 1;
  if found then
    case bad.problem
      when 'session' then
        perform ops._raise('OC002', format('session: %s does not exist', coalesce(bad.session_id::text, '(none given)')),
                           'list sessions with `ocr session list`, or create one with `ocr session new --title …`');
      when 'archived' then
        perform ops._raise('OC004', format('session: %s (%s) is archived and takes no new runs', bad.found_id, bad.title),
                           'create a new session');
      when 'lane' then
        perform ops._raise('OC003',
          format('lane: %s is not a lane of session %s', coalesce(quote_literal(bad.lane), '(none given)'), bad.found_id),
          format('use one of its lanes: %s', array_to_string(bad.lanes, ', ')));
      when 'intent' then
        perform ops._raise('OC003', 'intent: a run needs an intent', 'say what the run should do, such as "npm test"');
      when 'executor' then
        perform ops._raise('OC003', format('executor: %L is not an executor', bad.executor), 'use shell, agent or runbook');
      when 'spec' then
        perform ops._raise('OC003', 'spec: must be a JSON object');
      else
        perform ops._raise('OC003', 'max_attempts: must be between 1 and 100');
    end case;
  end if;

  return query
  with ins as (
    insert into ops.runs (session_id, lane, intent, executor, spec, priority, max_attempts, retry_of)
    select n.session_id, n.lane, n.intent, n.executor, n.spec, n.priority, n.max_attempts, n.retry_of
      from ops._runs_input(p_runs) n order by n.ord
    returning *
  ), heads as (
    select distinct on (i.session_id, i.lane) i.session_id, i.lane, i.id, i.priority, i.seq
      from ins i order by i.session_id, i.lane, i.priority, i.seq
  ), lanes_upserted as (
    insert into ops.lanes as l (session_id, lane, repo_id, head_run_id, head_priority, head_seq)
    select h.session_id, h.lane, s.repo_id, h.id, h.priority, h.seq
      from heads h join ops.sessions s on s.id = h.session_id
     order by h.session_id, h.lane
    on conflict (session_id, lane) do update
       set head_run_id = excluded.head_run_id, head_priority = excluded.head_priority, head_seq = excluded.head_seq
     where l.head_run_id is null
        or (excluded.head_priority, excluded.head_seq) < (l.head_priority, l.head_seq)
  )
  select * from ins;
  perform ops._notify_runs(array(select distinct n.session_id from ops._runs_input(p_runs) n), true);
end $$;

create function ops.create_run(
  p_session_id uuid,
  p_lane text,
  p_intent text,
  p_executor text default 'shell',
  p_spec jsonb default '{}'::jsonb,
  p_priority integer default 100,
  p_max_attempts integer default 3
) returns ops.runs
language sql as $$
  select * from ops.create_runs(jsonb_build_array(jsonb_build_object(
    'session_id', p_session_id, 'lane', p_lane, 'intent', p_intent, 'executor', p_executor, 'spec', p_spec,
    'priority', p_priority, 'max_attempts', p_max_attempts)));
$$;

-- A new queued run with the same intent and spec; retry_of points at the old one. Only a finished run can be retried.
create function ops.retry_run(p_run_id uuid) returns ops.runs
language plpgsql as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
  if r.status in ('queued', 'running') then
    perform ops._raise('OC004', format('run %s is still %s; only a finished run can be retried', p_run_id, r.status),
                       'cancel it first, or wait for it to finish');
  end if;
  return (select n from ops.create_runs(jsonb_build_array(jsonb_build_object(
    'session_id', r.session_id, 'lane', r.lane, 'intent', r.intent, 'executor', r.executor, 'spec', r.spec,
    'priority', r.priority, 'max_attempts', r.max_attempts, 'retry_of', r.id))) n);
end $$;

-- Runs and the queue: the worker's side ------------------------------------------------------------------------------
--
-- The functions of the hot path (claiming, finishing, recovery) refuse plans that read whole tables and keep one plan
-- per connection: every statement in them reads by key (bench/README.md says why).

-- Claims up to p_max_runs runs, at most one per lane, and never one from a lane whose run is still going.
-- Lanes are served in the order of their next run (priority, then age); inside a lane the same rule picks the run.
create function ops.claim_runs(
  p_worker_id text,
  p_max_runs integer,
  p_lanes text[] default null,
  p_sessions uuid[] default null,
  p_repo_ids text[] default null,
  p_lease_seconds integer default 30
) returns setof ops.runs
language plpgsql
set enable_seqscan = off
set enable_sort = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_heads uuid[];
begin
  if p_worker_id is null or length(p_worker_id) = 0 then
    perform ops._raise('OC003', 'worker id: required to claim runs');
  end if;
  if p_max_runs is null or p_max_runs < 1 then
    return;
  end if;
  if p_lease_seconds is null or p_lease_seconds < 1 then
    perform ops._raise('OC003', 'lease seconds: must be at least 1');
  end if;
  -- The lane rows stay locked until commit: nobody else claims from these lanes meanwhile. The running-run test here
  -- only narrows the choice; its snapshot is older than the locks, so the claim below tests again.
  select array_agg(p.head_run_id) into v_heads from (
    select l.head_run_id
      from ops.lanes l
     where l.head_run_id is not null
       and (p_lanes is null or l.lane = any (p_lanes))
       and (p_sessions is null or l.session_id = any (p_sessions))
       and (p_repo_ids is null or l.repo_id is null or l.repo_id = any (p_repo_ids))
       and not exists (select 1 from ops.runs x
                        where x.session_id = l.session_id and x.lane = l.lane and x.status = 'running')
     order by l.head_priority, l.head_seq
     limit p_max_runs
       for update of l skip locked
  ) p;
  if v_heads is null then
    return;
  end if;
  -- This statement's snapshot is newer than the lane locks: a run another worker claimed from one of these lanes
  -- before this worker locked it is seen running here, and its lane is left alone. The same statement moves each
  -- lane's head on to its next queued run (its snapshot still shows the run just claimed as queued: it is skipped)
  -- and answers the claimed runs, without gathering them anywhere first.
  return query
  with claimed as (
    update ops.runs r
       set status = 'running', claimed_by = p_worker_id, claimed_at = now(), attempt = r.attempt + 1,
           heartbeat_at = now(), lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           started_at = now(), updated_at = now()
     where r.id = any (v_heads) and r.status = 'queued'
       and not exists (select 1 from ops.runs x
                        where x.session_id = r.session_id and x.lane = r.lane and x.status = 'running')
    returning r.*
  ), heads as (
    update ops.lanes l
       set (head_run_id, head_priority, head_seq) =
           (select n.id, n.priority, n.seq from ops.runs n
             where n.session_id = c.session_id and n.lane = c.lane and n.status = 'queued' and n.id <> c.id
             order by n.priority, n.seq limit 1)
      from claimed c
     where l.session_id = c.session_id and l.lane = c.lane
  )
  select c.* from claimed c order by c.priority, c.seq;
  if found and ops._watched() then
    perform ops._notify_runs(array(select distinct r.session_id from ops.runs r
                                    where r.id = any (v_heads) and r.claimed_by = p_worker_id and r.status = 'running'));
  end if;
end $$;

-- One statement renews every lease the worker names and still holds, and answers for each named run:
-- 'held' (renewed), 'cancel' (renewed, but the user asked it to stop) or 'lost' (no longer this worker's).
-- Runs the worker does not name are not renewed, so a run whose claim answer never reached its worker expires.
create function ops.heartbeat(p_worker_id text, p_run_ids uuid[] default '{}', p_lease_seconds integer default 30)
returns table (run_id uuid, outcome text)
language plpgsql as $$
begin
  update ops.workers set last_heartbeat = now() where id = p_worker_id;
  return query
  with renewed as (
    update ops.runs r
       set heartbeat_at = now(), lease_expires_at = now() + make_interval(secs => p_lease_seconds)
     where r.id in (select x.id from ops.runs x
                     where x.id = any (p_run_ids) and x.claimed_by = p_worker_id and x.status = 'running'
                     order by x.id for update)
    returning r.id, r.cancel_requested_at
  )
  select q.id, case when n.id is null then 'lost' when n.cancel_requested_at is not null then 'cancel' else 'held' end
    from unnest(coalesce(p_run_ids, '{}')) as q(id) left join renewed n on n.id = q.id;
end $$;

-- Ends a run the caller holds: succeeded, failed or canceled. Its lane is free from the moment this commits.
create function ops.finish_run(
  p_run_id uuid,
  p_worker_id text,
  p_attempt integer,
  p_status text,
  p_exit_code integer default null,
  p_error text default null
) returns ops.runs
language plpgsql as $$
declare
  r ops.runs;
begin
  if p_status is null or p_status not in ('succeeded', 'failed', 'canceled') then
    perform ops._raise('OC003', format('status: %L is not a final status', p_status), 'use succeeded, failed or canceled');
  end if;
  update ops.runs
     set status = p_status, exit_code = p_exit_code, error = p_error, finished_at = now(), lease_expires_at = null,
         updated_at = now()
   where id = p_run_id and claimed_by = p_worker_id and attempt = p_attempt and status = 'running'
  returning * into r;
  if not found then
    perform ops._lease_lost(p_run_id, p_worker_id, p_attempt);
  end if;
  perform ops._notify_runs(array[r.session_id],
    exists (select 1 from ops.lanes where session_id = r.session_id and lane = r.lane and head_run_id is not null));
  return r;
end $$;

-- Ends many held runs in one call and one commit: [{run_id, attempt, status, exit_code?, error?}]. Each run is fenced on
-- its own; runs the worker no longer holds are left out of the answer instead of failing the whole batch. p_wake says
-- whether freed lanes wake other workers (finish_and_claim decides that after its own claim).
create function ops._finish_runs(p_worker_id text, p_results jsonb, p_wake boolean) returns setof ops.runs
language plpgsql
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_ids uuid[];
  v_bad boolean;
  v_watched boolean;
begin
  if p_results is null or jsonb_typeof(p_results) <> 'array' then
    perform ops._raise('OC003', 'results: expected a JSON array of {run_id, attempt, status}');
  end if;
  select array_agg(i.run_id order by i.run_id), bool_or(i.status is null or i.status not in ('succeeded', 'failed', 'canceled'))
    into v_ids, v_bad
    from jsonb_to_recordset(p_results) as i(run_id uuid, status text);
  if v_bad then
    perform ops._raise('OC003', 'status: every result needs a final status', 'use succeeded, failed or canceled');
  end if;
  if v_ids is null then
    return;
  end if;
  return query
  with i as (
    select * from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text, exit_code integer, error text)
  )
  update ops.runs r
     set status = i.status, exit_code = i.exit_code, error = i.error, finished_at = now(), lease_expires_at = null,
         updated_at = now()
    from i
   where r.id = any (v_ids) and r.id = i.run_id and r.claimed_by = p_worker_id and r.attempt = i.attempt
     and r.status = 'running'
  returning r.*;
  -- the runs named are now finished, by this call or before it: telling about all of them costs nothing wrong
  if not found then
    return;
  end if;
  v_watched := ops._watched();
  if p_wake or v_watched then
    perform ops._notify_runs(
      case when v_watched then array(select distinct r.session_id from ops.runs r where r.id = any (v_ids)) else '{}' end,
      p_wake and exists (select 1 from ops.runs r join ops.lanes l on l.session_id = r.session_id and l.lane = r.lane
                          where r.id = any (v_ids) and l.head_run_id is not null));
  end if;
end $$;

create function ops.finish_runs(p_worker_id text, p_results jsonb) returns setof ops.runs
language sql as $$
  select * from ops._finish_runs(p_worker_id, p_results, true);
$$;

-- A worker's steady state in one statement: record how its runs ended, then claim up to p_max_runs new ones.
-- Answers the newly claimed runs only; a lane it frees and takes again at once wakes nobody.
create function ops.finish_and_claim(
  p_worker_id text,
  p_results jsonb,
  p_max_runs integer,
  p_lanes text[] default null,
  p_sessions uuid[] default null,
  p_repo_ids text[] default null,
  p_lease_seconds integer default 30
) returns setof ops.runs
language plpgsql
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_sessions uuid[];
  v_lanes text[];
begin
  if p_results is not null and jsonb_typeof(p_results) = 'array' and jsonb_array_length(p_results) > 0 then
    select array_agg(f.session_id), array_agg(f.lane) into v_sessions, v_lanes
      from ops._finish_runs(p_worker_id, p_results, false) f;
  end if;
  return query select * from ops.claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
  -- a lane freed here whose next run this worker did not take is for the others
  if v_sessions is not null and exists (
    select 1 from unnest(v_sessions, v_lanes) as d(session_id, lane)
      join ops.lanes l on l.session_id = d.session_id and l.lane = d.lane
     where l.head_run_id is not null
       and not exists (select 1 from ops.runs x
                        where x.session_id = l.session_id and x.lane = l.lane and x.status = 'running')) then
    perform pg_notify('ops_queue', '');
  end if;
end $$;

-- Gives a held run back to the queue (a worker that stops before it could start or finish the run).
create function ops.release_run(p_run_id uuid, p_worker_id text, p_attempt integer) returns ops.runs
language plpgsql as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id));
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  update ops.runs
     set status = 'queued', claimed_by = null, claimed_at = null, heartbeat_at = null, lease_expires_at = null,
         started_at = null, updated_at = now()
   where id = p_run_id and claimed_by = p_worker_id and attempt = p_attempt and status = 'running'
     and cancel_requested_at is null
  returning * into r;
  if not found then
    perform ops._lease_lost(p_run_id, p_worker_id, p_attempt);
  end if;
  perform ops._refresh_lane_head(r.session_id, r.lane);
  perform ops._notify_runs(array[r.session_id], true);
  return r;
end $$;

-- Runs and the queue: the user's side --------------------------------------------------------------------------------

-- Asks a running run to stop and tells its worker; nothing if it is not running or was asked already.
create function ops._request_cancel(p_run_id uuid) returns void
language plpgsql as $$
declare
  r ops.runs;
begin
  update ops.runs set cancel_requested_at = now(), updated_at = now()
   where id = p_run_id and status = 'running' and cancel_requested_at is null
  returning * into r;
  if found then
    perform pg_notify('ops_cancel', json_build_object('run_id', r.id, 'worker_id', r.claimed_by)::text);
    perform ops._notify_runs(array[r.session_id]);
  end if;
end $$;

-- A queued run is canceled at once; a running run is asked to stop (its worker is told in this same transaction);
-- a finished run is left as it is. Answers 'canceled', 'cancel_requested' or 'already_finished'.
create function ops.cancel_run(p_run_id uuid) returns text
language plpgsql as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  select * into r from ops.runs where id = p_run_id for update;
  if r.status = 'queued' then
    update ops.runs set status = 'canceled', cancel_requested_at = now(), finished_at = now(), updated_at = now()
     where id = p_run_id and status = 'queued';
    perform ops._refresh_lane_head(r.session_id, r.lane);
    perform ops._notify_runs(array[r.session_id]);
    return 'canceled';
  elsif r.status = 'running' then
    perform ops._request_cancel(p_run_id);
    return 'cancel_requested';
  else
    return 'already_finished';
  end if;
end $$;

-- Runs and the queue: recovery ---------------------------------------------------------------------------------------

-- Runs whose lease expired: back to the queue (attempt kept; the next claim counts a new attempt), or failed with
-- 'lease expired' once max_attempts is used up, or canceled if the user had asked for that. Cheap when nothing expired:
-- runs_running_lease holds only running runs, ordered by lease.
create function ops.recover_expired() returns table (run_id uuid, outcome text)
language plpgsql
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_moved jsonb;
begin
  if not exists (select 1 from ops.runs where status = 'running' and lease_expires_at < now()) then
    return;
  end if;
  with expired as (
    select l.session_id, l.lane, r.id
      from ops.runs r join ops.lanes l on l.session_id = r.session_id and l.lane = r.lane
     where r.status = 'running' and r.lease_expires_at < now()
     order by l.session_id, l.lane
       for update of l skip locked
  ), locked as (
    select r.id from ops.runs r where r.id in (select e.id from expired e) order by r.id for update of r
  ), moved as (
    update ops.runs r
       set status = case when r.cancel_requested_at is not null then 'canceled'
                         when r.attempt >= r.max_attempts then 'failed'
                         else 'queued' end,
           error = case when r.cancel_requested_at is not null then 'canceled; its worker stopped answering'
                        when r.attempt >= r.max_attempts then 'lease expired'
                        else r.error end,
           finished_at = case when r.cancel_requested_at is null and r.attempt < r.max_attempts then null else now() end,
           claimed_by = case when r.cancel_requested_at is null and r.attempt < r.max_attempts then null else r.claimed_by end,
           claimed_at = case when r.cancel_requested_at is null and r.attempt < r.max_attempts then null else r.claimed_at end,
           started_at = case when r.cancel_requested_at is null and r.attempt < r.max_attempts then null else r.started_at end,
           heartbeat_at = case when r.cancel_requested_at is null and r.attempt < r.max_attempts then null else r.heartbeat_at end,
           lease_expires_at = null, updated_at = now()
      from locked k
     where r.id = k.id and r.status = 'running' and r.lease_expires_at < now()
    returning r.id, r.session_id, r.lane, r.status, r.priority, r.seq
  ), heads as (
    -- a run back in the queue may come before the lane's next run
    update ops.lanes l
       set head_run_id = m.id, head_priority = m.priority, head_seq = m.seq
      from moved m
     where l.session_id = m.session_id and l.lane = m.lane and m.status = 'queued'
       and (l.head_run_id is null or (m.priority, m.seq) < (l.head_priority, l.head_seq))
  )
  select jsonb_agg(jsonb_build_object('id', m.id, 'session_id', m.session_id, 'status', m.status)) into v_moved from moved m;
  if v_moved is not null then
    perform ops._notify_runs(array(select distinct (x ->> 'session_id')::uuid from jsonb_array_elements(v_moved) x),
                             v_moved @> '[{"status": "queued"}]');
    return query select (x ->> 'id')::uuid, case x ->> 'status' when 'queued' then 'requeued' else x ->> 'status' end
                   from jsonb_array_elements(v_moved) x;
  end if;
end $$;

-- Events and artifacts ------------------------------------------------------------------------------------------------

-- Appends a batch of log lines with consecutive seq numbers, for a run the worker holds. p_events:
-- [{stream, text, level?, data?, ts?}].
create function ops.append_events(p_run_id uuid, p_worker_id text, p_attempt integer, p_events jsonb)
returns bigint
language plpgsql as $$
declare
  v_last bigint;
begin
  perform 1 from ops.runs
    where id = p_run_id and claimed_by = p_worker_id and attempt = p_attempt and status = 'running'
    for no key update;
  if not found then
    perform ops._lease_lost(p_run_id, p_worker_id, p_attempt);
  end if;
  return ops._append_events(p_run_id, p_events);
end $$;

-- Caller holds the run row lock, which serialises appends of one run and so keeps seq consecutive.
create function ops._append_events(p_run_id uuid, p_events jsonb) returns bigint
language plpgsql as $$
declare
  v_last bigint;
  v_count bigint;
begin
  if p_events is null or jsonb_typeof(p_events) <> 'array' then
    perform ops._raise('OC003', 'events: expected a JSON array of events');
  end if;
  select coalesce(max(seq), 0) into v_last from ops.run_events where run_id = p_run_id;
  insert into ops.run_events (run_id, seq, ts, stream, level, text, data)
  select p_run_id, v_last + x.ord, coalesce((x.e ->> 'ts')::timestamptz, now()), coalesce(x.e ->> 'stream', 'stdout'),
         coalesce(x.e ->> 'level', 'info'), coalesce(x.e ->> 'text', ''), x.e -> 'data'
    from jsonb_array_elements(p_events) with ordinality as x(e, ord);
  get diagnostics v_count = row_count;
  if v_count > 0 and ops._watched() then
    perform pg_notify('ops_events', p_run_id::text || ':' || (v_last + v_count));
  end if;
  return v_last + v_count;
end $$;

-- Stores one artifact of a run the worker holds; a second one of the same kind and name replaces the first.
create function ops.put_artifact(
  p_run_id uuid,
  p_worker_id text,
  p_attempt integer,
  p_kind text,
  p_name text,
  p_mime text,
  p_content text,
  p_meta jsonb default '{}'::jsonb
) returns ops.artifacts
language plpgsql as $$
declare
  a ops.artifacts;
begin
  perform 1 from ops.runs
    where id = p_run_id and claimed_by = p_worker_id and attempt = p_attempt and status = 'running'
    for no key update;
  if not found then
    perform ops._lease_lost(p_run_id, p_worker_id, p_attempt);
  end if;
  if p_kind is null or p_kind not in ('diff', 'file', 'link', 'log', 'manifest') then
    perform ops._raise('OC003', format('kind: %L is not an artifact kind', p_kind), 'use diff, file, link, log or manifest');
  end if;
  insert into ops.artifacts as x (run_id, kind, name, mime, size, sha256, content, meta)
  values (p_run_id, p_kind, p_name, coalesce(p_mime, 'text/plain'),
          octet_length(convert_to(coalesce(p_content, ''), 'UTF8')),
          encode(sha256(convert_to(coalesce(p_content, ''), 'UTF8')), 'hex'), p_content, coalesce(p_meta, '{}'::jsonb))
  on conflict (run_id, kind, name) do update
     set mime = excluded.mime, size = excluded.size, sha256 = excluded.sha256, content = excluded.content,
         meta = excluded.meta, created_at = now()
  returning * into a;
  return a;
end $$;

-- Workers -------------------------------------------------------------------------------------------------------------

-- Registers a worker, or registers it again (a restart): running, with a fresh heartbeat.
create function ops.register_worker(
  p_worker_id text,
  p_host text,
  p_pid integer,
  p_concurrency integer,
  p_labels jsonb default '{}'::jsonb,
  p_version text default null
) returns ops.workers
language plpgsql as $$
declare
  w ops.workers;
begin
  if p_worker_id is null or length(p_worker_id) = 0 or length(p_worker_id) > 200 then
    perform ops._raise('OC003', 'worker id: must be 1 to 200 characters');
  end if;
  if p_concurrency is null or p_concurrency < 1 then
    perform ops._raise('OC003', 'concurrency: must be at least 1');
  end if;
  insert into ops.workers as x (id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat)
  values (p_worker_id, p_host, p_pid, p_concurrency, coalesce(p_labels, '{}'::jsonb), p_version, 'running', now(), now())
  on conflict (id) do update
     set host = excluded.host, pid = excluded.pid, concurrency = excluded.concurrency, labels = excluded.labels,
         version = excluded.version, state = 'running', started_at = now(), last_heartbeat = now()
  returning * into w;
  return w;
end $$;

create function ops.set_worker_state(p_worker_id text, p_state text) returns void
language plpgsql as $$
begin
  if p_state not in ('running', 'draining', 'stopped') then
    perform ops._raise('OC003', format('state: %L is not a worker state', p_state), 'use running, draining or stopped');
  end if;
  update ops.workers set state = p_state, last_heartbeat = now() where id = p_worker_id;
end $$;

-- Watchers ------------------------------------------------------------------------------------------------------------

-- Watchers register while they watch (see ops.watchers); run and log notifications are sent only while one does.
-- Registering also forgets watchers that expired over a minute ago.
create function ops.watch(p_watcher_id text, p_seconds integer default 120) returns void
language sql as $$
  insert into ops.watchers (id, expires_at) values (p_watcher_id, now() + make_interval(secs => p_seconds))
  on conflict (id) do update set expires_at = excluded.expires_at;
  delete from ops.watchers where expires_at < now() - interval '1 minute';
$$;

create function ops.unwatch(p_watcher_id text) returns void
language sql as $$
  delete from ops.watchers where id = p_watcher_id;
$$;
