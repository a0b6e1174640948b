-- Runbooks: published versions of runbook files, the steps of a runbook run with their own state, approval gates that
-- park a run without a lease, and runs that wait until a time before they may be claimed again (backoff).
--
-- A run parked at an approval is `waiting`: it holds no lease and no worker slot, and its lane stays reserved for it
-- (at most one running or waiting run per lane, the database's own guarantee). Approval puts it back in the queue, where
-- any worker that serves its repository resumes it at its next step; rejection ends it canceled.
--
-- A run queued with `run_after` in the future holds its place at the head of its lane, but the lane is not claimable
-- until then: `lanes.head_run_after` says so, and the claim walks only lanes without it (lanes_ready), so thousands of
-- runs backing off cost a claim nothing. The recovery every worker calls often anyway clears the times that have come.

-- Runs: waiting, backoff, approval -------------------------------------------------------------------------------------

alter table ops.runs drop constraint runs_status_check;
alter table ops.runs add constraint runs_status_check
  check (status in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'));
alter table ops.runs add column run_after timestamptz;
-- the gate a waiting run stands at, and how it was decided: {step, step_id, message, approvers, requested_at,
-- decision, decided_by, decided_at, reason}
alter table ops.runs add column approval jsonb;

drop index ops.runs_one_running_per_lane;
-- Invariant 2, backed by the database itself: at most one running or waiting run per (session, lane).
create unique index runs_one_active_per_lane on ops.runs (session_id, lane) where status in ('running', 'waiting');

-- Lanes: a head that may not run yet ------------------------------------------------------------------------------------

alter table ops.lanes add column head_run_after timestamptz;
drop index ops.lanes_ready;
create index lanes_ready on ops.lanes (head_priority, head_seq) where head_run_id is not null and head_run_after is null;
create index lanes_waiting on ops.lanes (head_run_after) where head_run_after is not null;

-- Whichever function moves a lane's head, the head's own run_after comes with it (a time already come is none).
create function ops._lane_head_run_after() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.head_run_id is null then
    new.head_run_after := null;
  elsif tg_op = 'INSERT' or new.head_run_id is distinct from old.head_run_id then
    new.head_run_after := (select r.run_after from ops.runs r where r.id = new.head_run_id and r.run_after > clock_timestamp());
  end if;
  return new;
end $$;
create trigger lanes_head_run_after before insert or update of head_run_id on ops.lanes
  for each row execute function ops._lane_head_run_after();

-- Lanes whose head's time has come become claimable; answers how many. Every worker's recovery calls it.
create function ops.release_due_runs() returns integer
language plpgsql as $$
declare
  v_count integer;
begin
  update ops.lanes l set head_run_after = null
   where l.head_run_after is not null and l.head_run_after <= now();
  get diagnostics v_count = row_count;
  if v_count > 0 then
    perform pg_notify('ops_queue', coalesce(ops._first_worker(), ''));
  end if;
  return v_count;
end $$;

-- Claiming: a lane with a running or waiting run, or whose head may not run yet, is not claimable.
create or replace function ops._claim_runs(
  p_worker_id text,
  p_max_runs integer,
  p_lanes text[],
  p_sessions uuid[],
  p_repo_ids text[],
  p_lease_seconds integer
) returns setof ops.runs
language plpgsql
set enable_seqscan = off
set enable_sort = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
set plan_cache_mode = force_generic_plan
set search_path = ''
as $$
declare
  v_heads uuid[];
begin
  if p_max_runs is null or p_max_runs < 1 then
    return;
  end if;
  if p_lease_seconds is null or p_lease_seconds < 1 then
    perform ops._raise('OC003', 'lease seconds: must be at least 1');
  end if;
  select array_agg(p.head_run_id) into v_heads from (
    select l.head_run_id
      from ops.lanes l
     where l.head_run_id is not null and l.head_run_after is null
       and (p_lanes is null or l.lane = any (p_lanes))
       and (p_sessions is null or l.session_id = any (p_sessions))
       and (p_repo_ids is null or l.repo_id is null or l.repo_id = any (p_repo_ids))
       and not exists (select 1 from ops.runs x
                        where x.session_id = l.session_id and x.lane = l.lane and x.status in ('running', 'waiting'))
     order by l.head_priority, l.head_seq
     limit p_max_runs
       for update of l skip locked
  ) p;
  if v_heads is null then
    return;
  end if;
  return query
  with claimed as (
    update ops.runs r
       set status = 'running', claimed_by = p_worker_id, claimed_at = clock_timestamp(), attempt = r.attempt + 1,
           heartbeat_at = clock_timestamp(), lease_expires_at = clock_timestamp() + make_interval(secs => p_lease_seconds),
           started_at = coalesce(case when r.approval is not null then r.started_at end, clock_timestamp()),
           run_after = null, updated_at = clock_timestamp()
     where r.id = any (v_heads) and r.status = 'queued' and (r.run_after is null or r.run_after <= now())
       and not exists (select 1 from ops.runs x
                        where x.session_id = r.session_id and x.lane = r.lane and x.status in ('running', 'waiting'))
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

-- The user's side: a waiting run is canceled at once, never retried while it waits ------------------------------------

create or replace function ops._cancel_run(p_run_id uuid) returns text
language plpgsql set search_path = '' as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  select * into r from ops.runs where id = p_run_id for update;
  if r.status in ('queued', 'waiting') then
    update ops.runs set status = 'canceled', cancel_requested_at = now(), finished_at = clock_timestamp(), updated_at = now(),
                        run_after = null
     where id = p_run_id and status in ('queued', 'waiting');
    update ops.run_steps set status = 'canceled', finished_at = coalesce(finished_at, clock_timestamp())
     where run_id = p_run_id and status in ('running', 'waiting');
    update ops.run_steps set status = 'skipped' where run_id = p_run_id and status = 'queued';
    perform ops._refresh_lane_head(r.session_id, r.lane);
    perform ops._notify_runs(array[r.session_id], r.status = 'waiting');
    return 'canceled';
  elsif r.status = 'running' then
    perform ops._request_cancel(p_run_id);
    return 'cancel_requested';
  else
    return 'already_finished';
  end if;
end $$;

create or replace function ops._retry_run(p_run_id uuid) returns ops.runs
language plpgsql set search_path = '' as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
  if r.status in ('queued', 'running', 'waiting') then
    perform ops._raise('OC004', format('run %s is still %s; only a finished run can be retried', p_run_id, r.status),
                       'cancel it first, or wait for it to finish');
  end if;
  return (select n from ops.create_runs(jsonb_build_array(jsonb_build_object(
    'session_id', r.session_id, 'lane', r.lane, 'intent', r.intent, 'executor', r.executor, 'spec', r.spec,
    'priority', r.priority, 'max_attempts', r.max_attempts, 'retry_of', r.id))) n);
end $$;

create or replace function ops._archive_session(p_session_id uuid) returns ops.sessions
language plpgsql set search_path = '' as $$
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
  update ops.runs set status = 'canceled', finished_at = clock_timestamp(), updated_at = now(), error = 'session archived',
                      run_after = null
   where id in (select id from ops.runs where session_id = p_session_id and status in ('queued', 'waiting')
                 order by id for update);
  update ops.lanes set head_run_id = null, head_priority = null, head_seq = null where session_id = p_session_id;
  perform ops._request_cancel(id) from ops.runs
    where session_id = p_session_id and status = 'running' and cancel_requested_at is null;
  update ops.sessions set status = 'archived', archived_at = now() where id = p_session_id returning * into s;
  perform ops._notify_runs(array[p_session_id]);
  return s;
end $$;

-- Events: a level for success, and the step a line belongs to ---------------------------------------------------------

alter table ops.run_events drop constraint run_events_level_check;
alter table ops.run_events add constraint run_events_level_check check (level in ('debug', 'info', 'warn', 'error', 'success'));
alter table ops.run_events add column step text;

create or replace function ops._append_events(p_run_id uuid, p_events jsonb) returns bigint
language plpgsql set search_path = '' as $$
declare
  v_last bigint;
  v_count bigint;
begin
  if p_events is null or jsonb_typeof(p_events) <> 'array' then
    perform ops._raise('OC003', 'events: expected a JSON array of events');
  end if;
  select coalesce(max(seq), 0) into v_last from ops.run_events where run_id = p_run_id;
  insert into ops.run_events (run_id, seq, ts, stream, level, text, data, step)
  select p_run_id, v_last + x.ord, coalesce((x.e ->> 'ts')::timestamptz, now()), coalesce(x.e ->> 'stream', 'stdout'),
         coalesce(x.e ->> 'level', 'info'), coalesce(x.e ->> 'text', ''), x.e -> 'data', x.e ->> 'step'
    from jsonb_array_elements(p_events) with ordinality as x(e, ord);
  get diagnostics v_count = row_count;
  if v_count > 0 and ops._watched() then
    perform pg_notify('ops_events', p_run_id::text || ':' || (v_last + v_count));
  end if;
  return v_last + v_count;
end $$;

-- Templates: each published version of a runbook, immutable -----------------------------------------------------------

drop table ops.templates;
create table ops.templates (
  id         uuid primary key default gen_random_uuid(),
  name       text not null check (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  version    integer not null check (version >= 1),
  sha256     text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  title      text not null,
  kind       text not null,
  -- where it was read from (a path in the repository), the file's text as published, and the runbook it holds
  source     text,
  text       text not null,
  runbook    jsonb not null check (jsonb_typeof(runbook) = 'object'),
  created_by name not null default session_user,
  created_at timestamptz not null default now(),
  unique (name, version),
  unique (name, sha256)
);
comment on table ops.templates is 'Each published version of a runbook; a runbook run points at the version it was queued with (spec.template_id).';

-- Publishes a runbook: the same text is the version already published; new text is the next version.
create function ops.publish_template(p_name text, p_text text, p_sha256 text, p_runbook jsonb, p_source text default null)
returns ops.templates
language plpgsql as $$
declare
  t ops.templates;
begin
  if p_runbook is null or jsonb_typeof(p_runbook) <> 'object' or p_runbook ->> 'name' is distinct from p_name then
    perform ops._raise('OC003', 'runbook: expected the parsed runbook, with the same name');
  end if;
  perform pg_advisory_xact_lock(hashtext('ops.templates:' || p_name));
  select * into t from ops.templates where name = p_name and sha256 = p_sha256;
  if found then
    return t;
  end if;
  insert into ops.templates (name, version, sha256, title, kind, source, text, runbook)
  values (p_name, coalesce((select max(version) from ops.templates where name = p_name), 0) + 1, p_sha256,
          coalesce(p_runbook ->> 'title', p_name), coalesce(p_runbook ->> 'kind', 'custom'), p_source, p_text, p_runbook)
  returning * into t;
  return t;
end $$;

-- A runbook run must point at a published version.
create or replace function ops.create_runs(p_runs jsonb) returns setof ops.runs
language plpgsql as $$
declare
  v_session uuid;
  v_missing text;
begin
  if p_runs is not null and jsonb_typeof(p_runs) = 'array' and not ops._is_admin() then
    for v_session in select distinct (e ->> 'session_id')::uuid from jsonb_array_elements(p_runs) e
                      where e ->> 'session_id' is not null loop
      perform ops._check_session(v_session);
    end loop;
  end if;
  if p_runs is not null and jsonb_typeof(p_runs) = 'array' then
    select coalesce(e -> 'spec' ->> 'template_id', '(none)') into v_missing
      from jsonb_array_elements(p_runs) e
     where e ->> 'executor' = 'runbook'
       and not exists (select 1 from ops.templates t
                        where t.id::text = e -> 'spec' ->> 'template_id')
     limit 1;
    if found then
      perform ops._raise('OC003', format('spec.template_id: %s is not a published runbook version', v_missing),
                         'queue a runbook run with `ocr runbook run` or Run Runbook…, which publish its file first');
    end if;
  end if;
  return query select * from ops._create_runs(p_runs);
end $$;

-- Steps --------------------------------------------------------------------------------------------------------------

drop table ops.run_steps;
create table ops.run_steps (
  run_id      uuid not null references ops.runs (id) on delete cascade,
  idx         integer not null check (idx >= 0),
  step_id     text not null,
  title       text not null,
  kind        text not null check (kind in ('shell', 'agent', 'approval')),
  status      text not null default 'queued'
              check (status in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled', 'skipped')),
  -- tries of this step (a retry policy tries it again inside the run; a resumed run tries its running step again)
  tries       integer not null default 0 check (tries >= 0),
  started_at  timestamptz,
  finished_at timestamptz,
  exit_code   integer,
  error       text,
  primary key (run_id, idx),
  unique (run_id, step_id)
);

-- Fenced like every write of a worker: the run is running, held by this worker at this attempt.
create function ops._check_held(p_run_id uuid, p_worker_id text, p_attempt integer) returns ops.runs
language plpgsql set search_path = '' as $$
declare
  r ops.runs;
begin
  select * into r from ops.runs
   where id = p_run_id and claimed_by = p_worker_id and attempt = p_attempt and status = 'running'
     for no key update;
  if not found then
    perform ops._lease_lost(p_run_id, p_worker_id, p_attempt);
  end if;
  return r;
end $$;

-- The plan of a runbook run: one row per step, made once (a resumed run keeps its rows). p_steps: [{step_id, title,
-- kind}] in order. Answers every step row.
create function ops.plan_steps(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer, p_steps jsonb)
returns setof ops.run_steps
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  perform ops._check_held(p_run_id, p_worker_id, p_attempt);
  if not exists (select 1 from ops.run_steps where run_id = p_run_id) then
    if p_steps is null or jsonb_typeof(p_steps) <> 'array' or jsonb_array_length(p_steps) = 0 then
      perform ops._raise('OC003', 'steps: expected a JSON array of {step_id, title, kind}');
    end if;
    insert into ops.run_steps (run_id, idx, step_id, title, kind)
    select p_run_id, (x.ord - 1)::integer, x.e ->> 'step_id', coalesce(x.e ->> 'title', x.e ->> 'step_id'), x.e ->> 'kind'
      from jsonb_array_elements(p_steps) with ordinality as x(e, ord);
    perform ops._notify_runs(array[(select session_id from ops.runs where id = p_run_id)]);
  end if;
  return query select * from ops.run_steps where run_id = p_run_id order by idx;
end $$;

-- A step moves: queued (or failed, to try again; or running, resumed after its worker was lost) → running; running →
-- succeeded | failed | canceled; queued → skipped | canceled. Anything else is refused, naming the step.
create function ops.move_step(
  p_run_id uuid,
  p_worker_id text,
  p_token text,
  p_attempt integer,
  p_idx integer,
  p_status text,
  p_exit_code integer default null,
  p_error text default null
) returns ops.run_steps
language plpgsql as $$
declare
  s ops.run_steps;
  v_from text[];
begin
  perform ops._check_worker(p_worker_id, p_token);
  perform ops._check_held(p_run_id, p_worker_id, p_attempt);
  v_from := case p_status
    when 'running' then array['queued', 'failed', 'running']
    when 'succeeded' then array['running']
    when 'failed' then array['running']
    when 'canceled' then array['running', 'queued']
    when 'skipped' then array['queued']
  end;
  if v_from is null then
    perform ops._raise('OC003', format('status: %L is not a step status a worker sets', p_status),
                       'use running, succeeded, failed, canceled or skipped');
  end if;
  update ops.run_steps
     set status = p_status,
         tries = case when p_status = 'running' then tries + 1 else tries end,
         started_at = case when p_status = 'running' then clock_timestamp() else started_at end,
         finished_at = case when p_status = 'running' then null else clock_timestamp() end,
         exit_code = case when p_status = 'running' then null else p_exit_code end,
         error = case when p_status = 'running' then null else p_error end
   where run_id = p_run_id and idx = p_idx and status = any (v_from)
  returning * into s;
  if not found then
    select * into s from ops.run_steps where run_id = p_run_id and idx = p_idx;
    perform ops._raise('OC004', format('step %s of run %s is %s; it cannot become %s', p_idx, p_run_id,
                                       coalesce(s.status, 'not planned'), p_status));
  end if;
  perform ops._notify_runs(array[(select session_id from ops.runs where id = p_run_id)]);
  return s;
end $$;

-- Approval gates ------------------------------------------------------------------------------------------------------

-- The worker parks the run at an approval step: the run is `waiting` (its lease and slot let go, its lane kept for it),
-- the step `waiting`, and whoever watches is told. p_approval: {message, approvers?}.
create function ops.park_run(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer, p_idx integer, p_approval jsonb)
returns ops.runs
language plpgsql as $$
declare
  r ops.runs;
  s ops.run_steps;
begin
  perform ops._check_worker(p_worker_id, p_token);
  perform ops._check_held(p_run_id, p_worker_id, p_attempt);
  update ops.run_steps set status = 'waiting', tries = tries + 1, started_at = clock_timestamp()
   where run_id = p_run_id and idx = p_idx and kind = 'approval' and status in ('queued', 'running')
  returning * into s;
  if not found then
    perform ops._raise('OC004', format('step %s of run %s is not an approval step that can wait', p_idx, p_run_id));
  end if;
  update ops.runs
     set status = 'waiting', lease_expires_at = null, heartbeat_at = null, updated_at = clock_timestamp(),
         approval = jsonb_build_object('step', p_idx, 'step_id', s.step_id, 'message', p_approval ->> 'message',
                                       'approvers', coalesce(p_approval -> 'approvers', '[]'::jsonb),
                                       'requested_at', clock_timestamp())
   where id = p_run_id
  returning * into r;
  perform ops._notify_runs(array[r.session_id]);
  perform pg_notify('ops_approvals', r.id::text);
  return r;
end $$;

-- A person decides a waiting run: approved, it goes back to the queue (one more claim allowed, the same place in its
-- lane) and resumes after its gate; rejected, it ends canceled with the reason. Who and when are kept.
create function ops._decide(p_run_id uuid, p_approve boolean, p_reason text) returns ops.runs
language plpgsql set search_path = '' as $$
declare
  r ops.runs;
  v_approvers jsonb;
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  select * into r from ops.runs where id = p_run_id for update;
  if r.status <> 'waiting' then
    perform ops._raise('OC004',
      format('run %s is %s, not waiting for an approval%s', p_run_id, r.status,
             case when r.approval ->> 'decision' is not null
                  then format(' (it was %s by %s)', r.approval ->> 'decision', r.approval ->> 'decided_by') else '' end),
      'only a run parked at an approval step can be approved or rejected');
  end if;
  v_approvers := coalesce(r.approval -> 'approvers', '[]'::jsonb);
  if jsonb_array_length(v_approvers) > 0 and not (v_approvers ? session_user::text) and not ops._is_admin() then
    perform ops._raise('OC005', format('%s is not among the approvers of run %s (%s)', session_user, p_run_id,
                                       (select string_agg(a, ', ') from jsonb_array_elements_text(v_approvers) a)));
  end if;
  if p_approve then
    update ops.runs
       set status = 'queued', max_attempts = max_attempts + 1, updated_at = clock_timestamp(), run_after = null,
           approval = approval || jsonb_build_object('decision', 'approved', 'decided_by', session_user::text,
                                                     'decided_at', clock_timestamp(), 'reason', p_reason)
     where id = p_run_id
    returning * into r;
    update ops.run_steps set status = 'succeeded', finished_at = clock_timestamp()
     where run_id = p_run_id and idx = (r.approval ->> 'step')::integer;
    -- the lane's head: this run, before anything queued after it
    update ops.lanes l set head_run_id = r.id, head_priority = r.priority, head_seq = r.seq
     where l.session_id = r.session_id and l.lane = r.lane
       and (l.head_run_id is null or (r.priority, r.seq) < (l.head_priority, l.head_seq));
    perform ops._notify_runs(array[r.session_id], true);
  else
    update ops.runs
       set status = 'canceled', finished_at = clock_timestamp(), updated_at = clock_timestamp(),
           error = 'rejected' || coalesce(': ' || nullif(btrim(p_reason), ''), ''),
           approval = approval || jsonb_build_object('decision', 'rejected', 'decided_by', session_user::text,
                                                     'decided_at', clock_timestamp(), 'reason', p_reason)
     where id = p_run_id
    returning * into r;
    update ops.run_steps set status = 'canceled', finished_at = clock_timestamp()
     where run_id = p_run_id and idx = (r.approval ->> 'step')::integer;
    update ops.run_steps set status = 'skipped' where run_id = p_run_id and status = 'queued';
    perform ops._refresh_lane_head(r.session_id, r.lane);
    perform ops._notify_runs(array[r.session_id], true);
  end if;
  return r;
end $$;

create function ops.approve_run(p_run_id uuid, p_note text default null) returns ops.runs
language plpgsql as $$
begin
  perform ops._check_run(p_run_id);
  return ops._decide(p_run_id, true, p_note);
end $$;

create function ops.reject_run(p_run_id uuid, p_reason text default null) returns ops.runs
language plpgsql as $$
begin
  perform ops._check_run(p_run_id);
  return ops._decide(p_run_id, false, p_reason);
end $$;

-- Run-level retries: a failed runbook run with attempts left goes back to the queue, claimable after p_after_seconds.
create function ops.requeue_run(
  p_run_id uuid,
  p_worker_id text,
  p_token text,
  p_attempt integer,
  p_after_seconds double precision,
  p_error text
) returns ops.runs
language plpgsql as $$
declare
  r ops.runs;
begin
  perform ops._check_worker(p_worker_id, p_token);
  r := ops._check_held(p_run_id, p_worker_id, p_attempt);
  if r.attempt >= r.max_attempts then
    perform ops._raise('OC004', format('run %s has used its %s attempts', p_run_id, r.max_attempts), 'finish it as failed');
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  update ops.runs
     set status = 'queued', claimed_by = null, claimed_at = null, heartbeat_at = null, lease_expires_at = null,
         started_at = null, error = p_error, updated_at = clock_timestamp(),
         run_after = clock_timestamp() + make_interval(secs => greatest(p_after_seconds, 0))
   where id = p_run_id
  returning * into r;
  update ops.run_steps set status = 'queued', started_at = null, finished_at = null, exit_code = null, error = null
   where run_id = p_run_id and status <> 'succeeded' and status <> 'skipped';
  update ops.lanes l set head_run_id = r.id, head_priority = r.priority, head_seq = r.seq
   where l.session_id = r.session_id and l.lane = r.lane
     and (l.head_run_id is null or l.head_run_id = r.id or (r.priority, r.seq) < (l.head_priority, l.head_seq));
  -- the trigger set head_run_after if the head did not change either: make sure the lane waits for this run's time
  update ops.lanes l set head_run_after = r.run_after
   where l.session_id = r.session_id and l.lane = r.lane and l.head_run_id = r.id and r.run_after > clock_timestamp();
  perform ops._notify_runs(array[r.session_id]);
  return r;
end $$;

-- Every function: a fixed, empty search_path; the callable ones run as the schema's owner -----------------------------

do $$
declare
  f record;
begin
  for f in select p.oid::regprocedure as sig, p.proname from pg_catalog.pg_proc p
             join pg_catalog.pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'ops' loop
    execute pg_catalog.format('alter function %s set search_path = %L', f.sig, '');
    if left(f.proname, 1) <> '_' then
      execute pg_catalog.format('alter function %s security definer', f.sig);
    end if;
  end loop;
end $$;

revoke all on ops.templates, ops.run_steps from public;
revoke all on all functions in schema ops from public;

alter table ops.templates enable row level security;
alter table ops.run_steps enable row level security;
grant select on ops.templates, ops.run_steps to ocr_client;
grant select on ops.templates to ocr_worker;
create policy templates_listed on ops.templates for select to ocr_client, ocr_worker using (true);
create policy steps_of_client on ops.run_steps for select to ocr_client
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.owner = session_user));

grant execute on function
  ops.publish_template(text, text, text, jsonb, text),
  ops.approve_run(uuid, text),
  ops.reject_run(uuid, text)
  to ocr_client;
grant execute on function
  ops.plan_steps(uuid, text, text, integer, jsonb),
  ops.move_step(uuid, text, text, integer, integer, text, integer, text),
  ops.park_run(uuid, text, text, integer, integer, jsonb),
  ops.requeue_run(uuid, text, text, integer, double precision, text),
  ops.release_due_runs()
  to ocr_worker;
