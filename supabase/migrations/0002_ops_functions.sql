-- Every state change of a session or a run is one of these functions, each guarded in its WHERE clause.
--
-- Errors carry their own SQLSTATE so clients can name them:
--   OC001 lease_lost     a worker wrote for a run it no longer holds (fencing)
--   OC002 not_found      no such session or run
--   OC003 invalid_input  a field is wrong; the message names it and what to do
--   OC004 invalid_state  the run or session is not in a state that allows the change
--
-- Lock order, to keep concurrent callers free of deadlocks: a lane row (ops.lanes) before any run row of that lane,
-- several lanes in (session_id, lane) order, several runs in id order.
--
-- Notifications: each function sends its own, once per call, with small payloads (a trigger with transition tables
-- on every run update cost a third of the queue's throughput, and the function knows exactly what changed). ops_runs
-- and ops_events go out only while a watcher is registered in ops.watchers:
--   ops_queue   ''                           a run became claimable
--   ops_runs    'session-id,session-id' | '*' runs of these sessions changed status
--   ops_events  'run-id:last-seq,…'           events were appended
--   ops_cancel  '{"run_id":…,"worker_id":…}'  a running run was asked to cancel
--   ops_sessions ''                          a session was created or changed

create function ops._raise(p_code text, p_message text, p_hint text default null) returns void
language plpgsql as $$
begin
  raise exception using errcode = p_code, message = p_message, hint = coalesce(p_hint, '');
end $$;

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

-- Watchers register while they watch (see ops.watchers); run and log notifications are sent only while one does.
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

create function ops._watched() returns boolean
language sql stable as $$
  select exists (select 1 from ops.watchers where expires_at > now());
$$;

-- Tells watchers which sessions' runs changed, and idle workers that a run may be claimable.
create function ops._notify_runs(p_sessions uuid[], p_claimable boolean default false) returns void
language plpgsql as $$
begin
  if cardinality(p_sessions) > 0 and ops._watched() then
    perform pg_notify('ops_runs', case when cardinality(p_sessions) > 50 then '*' else array_to_string(p_sessions, ',') end);
  end if;
  if p_claimable then
    perform pg_notify('ops_queue', '');
  end if;
end $$;

-- Sessions -----------------------------------------------------------------------------------------------------------

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

-- Runs: creating ----------------------------------------------------------------------------------------------------

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

-- A new queued run with the same intent and spec; retry_of points at the old one.
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

-- Runs: the worker's side --------------------------------------------------------------------------------------------

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

-- Claims up to p_max_runs runs, at most one per lane, and never one from a lane whose run is still going.
-- Lanes are served in the order of their next run (priority, then age); inside a lane the same rule picks the run.
-- The ready lanes are read in the order of the lanes_ready index and the runs are fetched by primary key, whatever the
-- table statistics say: on a new database, or after a burst of inserts autovacuum has not analysed yet, the planner
-- otherwise sorted every ready lane and hash-joined every queued run (7 ms for a batch of 32 at 5,000 queued, 3.5 ms).
create function ops.claim_runs(
  p_worker_id text,
  p_max_runs integer,
  p_lanes text[] default null,
  p_sessions uuid[] default null,
  p_repo_ids text[] default null,
  p_lease_seconds integer default 30
) returns setof ops.runs
language plpgsql
set enable_sort = off
set enable_bitmapscan = off
as $$
declare
  v_heads uuid[];
  v_claimed ops.runs[];
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
  -- the lane rows stay locked until commit: nobody else claims from these lanes meanwhile
  select array_agg(p.head_run_id) into v_heads from (
    select l.head_run_id
      from ops.lanes l
     where l.running_run_id is null and l.head_run_id is not null
       and (p_lanes is null or l.lane = any (p_lanes))
       and (p_sessions is null or l.session_id = any (p_sessions))
       and (p_repo_ids is null or l.repo_id is null or l.repo_id = any (p_repo_ids))
     order by l.head_priority, l.head_seq
     limit p_max_runs
       for update skip locked
  ) p;
  if v_heads is null then
    return;
  end if;
  with claimed as (
    update ops.runs r
       set status = 'running', claimed_by = p_worker_id, claimed_at = now(), attempt = r.attempt + 1,
           heartbeat_at = now(), lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           started_at = now(), updated_at = now()
     where r.id = any (v_heads) and r.status = 'queued'
    returning r.*
  )
  select array_agg(c order by c.priority, c.seq) into v_claimed from claimed c;
  if v_claimed is null then
    return;
  end if;
  update ops.lanes l
     set running_run_id = c.id,
         (head_run_id, head_priority, head_seq) =
         (select n.id, n.priority, n.seq from ops.runs n
           where n.session_id = c.session_id and n.lane = c.lane and n.status = 'queued'
           order by n.priority, n.seq limit 1)
    from unnest(v_claimed) c
   where l.session_id = c.session_id and l.lane = c.lane;
  perform ops._notify_runs(array(select distinct x.session_id from unnest(v_claimed) x));
  return query select * from unnest(v_claimed);
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

-- Appends a batch of log lines with consecutive seq numbers. p_events: [{stream, text, level?, data?, ts?}].
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

-- Ends a run the caller holds: succeeded, failed or canceled. Frees the lane for its next run.
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
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id));
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  update ops.runs
     set status = p_status, exit_code = p_exit_code, error = p_error, finished_at = now(), lease_expires_at = null,
         updated_at = now()
   where id = p_run_id and claimed_by = p_worker_id and attempt = p_attempt and status = 'running'
  returning * into r;
  if not found then
    perform ops._lease_lost(p_run_id, p_worker_id, p_attempt);
  end if;
  update ops.lanes set running_run_id = null
   where session_id = r.session_id and lane = r.lane and running_run_id = p_run_id;
  perform ops._notify_runs(array[r.session_id],
    exists (select 1 from ops.lanes where session_id = r.session_id and lane = r.lane and head_run_id is not null));
  return r;
end $$;

-- Ends many held runs in one call and one commit: [{run_id, attempt, status, exit_code?, error?}]. Each run is fenced on
-- its own; runs the worker no longer holds are left out of the answer instead of failing the whole batch. p_wake says
-- whether freed lanes wake other workers (finish_and_claim decides that after its own claim).
create function ops._finish_runs(p_worker_id text, p_results jsonb, p_wake boolean) returns setof ops.runs
language plpgsql as $$
declare
  v_done ops.runs[];
begin
  if p_results is null or jsonb_typeof(p_results) <> 'array' then
    perform ops._raise('OC003', 'results: expected a JSON array of {run_id, attempt, status}');
  end if;
  perform 1 from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text)
   where i.status is null or i.status not in ('succeeded', 'failed', 'canceled');
  if found then
    perform ops._raise('OC003', 'status: every result needs a final status', 'use succeeded, failed or canceled');
  end if;
  perform 1 from ops.lanes l
   where (l.session_id, l.lane) in (select r.session_id, r.lane from ops.runs r
                                     where r.id in (select (x ->> 'run_id')::uuid from jsonb_array_elements(p_results) x))
   order by l.session_id, l.lane
     for update;
  with i as (
    select * from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text, exit_code integer, error text)
  ), done as (
    update ops.runs r
       set status = i.status, exit_code = i.exit_code, error = i.error, finished_at = now(), lease_expires_at = null,
           updated_at = now()
      from i
     where r.id = i.run_id and r.claimed_by = p_worker_id and r.attempt = i.attempt and r.status = 'running'
    returning r.*
  )
  select array_agg(d) into v_done from done d;
  if v_done is null then
    return;
  end if;
  update ops.lanes l set running_run_id = null
    from unnest(v_done) d
   where l.session_id = d.session_id and l.lane = d.lane and l.running_run_id = d.id;
  perform ops._notify_runs(array(select distinct d.session_id from unnest(v_done) d),
    p_wake and exists (select 1 from ops.lanes l join unnest(v_done) d on l.session_id = d.session_id and l.lane = d.lane
                        where l.head_run_id is not null));
  return query select * from unnest(v_done);
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
language plpgsql as $$
declare
  v_freed ops.runs[];
begin
  if p_results is not null and jsonb_typeof(p_results) = 'array' and jsonb_array_length(p_results) > 0 then
    select array_agg(f) into v_freed from ops._finish_runs(p_worker_id, p_results, false) f;
  end if;
  return query select * from ops.claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
  -- a lane freed here whose next run this worker did not take is for the others
  if v_freed is not null and exists (
    select 1 from ops.lanes l join unnest(v_freed) d on l.session_id = d.session_id and l.lane = d.lane
     where l.running_run_id is null and l.head_run_id is not null) then
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
  update ops.lanes set running_run_id = null
   where session_id = r.session_id and lane = r.lane and running_run_id = p_run_id;
  perform ops._refresh_lane_head(r.session_id, r.lane);
  perform ops._notify_runs(array[r.session_id], true);
  return r;
end $$;

-- Runs: the user's side ----------------------------------------------------------------------------------------------

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

-- Runs whose lease expired: back to the queue (attempt kept; the next claim counts a new attempt), or failed with
-- 'lease expired' once max_attempts is used up, or canceled if the user had asked for that. Cheap when nothing expired.
create function ops.recover_expired() returns table (run_id uuid, outcome text)
language plpgsql as $$
declare
  v_moved jsonb;
begin
  if not exists (select 1 from ops.runs where status = 'running' and lease_expires_at < now()) then
    return;
  end if;
  with expired as (
    select l.session_id, l.lane, r.id
      from ops.runs r join ops.lanes l on l.session_id = r.session_id and l.lane = r.lane and l.running_run_id = r.id
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
  ), lanes_freed as (
    update ops.lanes l
       set running_run_id = null,
           head_run_id = case when m.status = 'queued' and (l.head_run_id is null or (m.priority, m.seq) < (l.head_priority, l.head_seq))
                              then m.id else l.head_run_id end,
           head_priority = case when m.status = 'queued' and (l.head_run_id is null or (m.priority, m.seq) < (l.head_priority, l.head_seq))
                                then m.priority else l.head_priority end,
           head_seq = case when m.status = 'queued' and (l.head_run_id is null or (m.priority, m.seq) < (l.head_priority, l.head_seq))
                           then m.seq else l.head_seq end
      from moved m
     where l.session_id = m.session_id and l.lane = m.lane and l.running_run_id = m.id
  )
  select jsonb_agg(jsonb_build_object('id', m.id, 'session_id', m.session_id, 'status', m.status)) into v_moved from moved m;
  if v_moved is not null then
    perform ops._notify_runs(array(select distinct (x ->> 'session_id')::uuid from jsonb_array_elements(v_moved) x),
                             v_moved @> '[{"status": "queued"}]');
    return query select (x ->> 'id')::uuid, case x ->> 'status' when 'queued' then 'requeued' else x ->> 'status' end
                   from jsonb_array_elements(v_moved) x;
  end if;
end $$;

-- Notifications ------------------------------------------------------------------------------------------------------

create function ops._notify_sessions_changed() returns trigger
language plpgsql as $$
begin
  perform pg_notify('ops_sessions', '');
  return null;
end $$;

create trigger sessions_changed after insert or update on ops.sessions
  for each statement execute function ops._notify_sessions_changed();
