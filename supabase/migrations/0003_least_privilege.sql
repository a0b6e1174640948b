-- Least privilege. Nothing of the ops schema is PUBLIC's. Two group roles, granted to login roles by the operator:
--
--   ocr_client  creates sessions and runs, cancels, retries and archives, reads runs, logs and artifacts — of the
--               sessions its login role created only (row-level security; the functions check the same);
--   ocr_worker  registers, claims, renews leases, appends log lines, stores artifacts and records how runs ended.
--
-- Every function a role may call is SECURITY DEFINER with an empty search_path (every name in it is qualified), so a
-- caller reaches the tables only through the guards of the functions. The role that owns the schema (the one that
-- migrates: the embedded database's own role, a team's admin) may do everything, and so may superusers.
--
-- A worker's identity is a token it receives when it registers, kept in its memory only; the database stores its
-- SHA-256 and the login role that registered it. Every write of a worker names its id and its token, so a caller that
-- reads a worker's id in ops.runs cannot finish, renew or append for that worker's runs.
--
-- Times a person reads as history are taken when the transition happens (clock_timestamp()), not when its transaction
-- began: a run's start is never recorded before the end of the run its lane ran just before.

-- The roles ------------------------------------------------------------------------------------------------------------

do $$
declare
  v_may_create boolean := (select r.rolsuper or r.rolcreaterole from pg_catalog.pg_roles r where r.rolname = current_user);
  v_role text;
begin
  foreach v_role in array array['ocr_client', 'ocr_worker'] loop
    if not exists (select 1 from pg_catalog.pg_roles r where r.rolname = v_role) then
      if not v_may_create then
        raise exception using errcode = 'OC003',
          message = format('the role %s does not exist, and %s may not create roles', v_role, current_user),
          hint = 'create the roles ocr_client and ocr_worker (NOLOGIN) as an administrator, then migrate again';
      end if;
      execute pg_catalog.format('create role %I nologin', v_role);
    end if;
  end loop;
end $$;

-- Who may do what ----------------------------------------------------------------------------------------------------

-- The login role that created a session; it and the schema's owner (and superusers) may act on it.
alter table ops.sessions add column owner name not null default session_user;
comment on column ops.sessions.owner is 'the login role that created the session; row-level security and the functions check it';

-- Whether the caller's login role may do anything: a superuser, or a member of the role that owns the schema.
create function ops._is_admin() returns boolean
language sql stable set search_path = '' as $$
  select coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user), false)
      or pg_catalog.pg_has_role(session_user, (select n.nspowner from pg_catalog.pg_namespace n where n.nspname = 'ops'), 'MEMBER');
$$;

-- Raises 'does not exist' for a session the caller may not act on, as for one that does not exist: it learns nothing.
create function ops._check_session(p_session_id uuid) returns void
language plpgsql set search_path = '' as $$
begin
  if not exists (select 1 from ops.sessions s
                  where s.id = p_session_id and (s.owner = session_user or ops._is_admin())) then
    perform ops._raise('OC002', format('session %s does not exist', p_session_id), 'list sessions with `ocr session list`');
  end if;
end $$;

create function ops._check_run(p_run_id uuid) returns void
language plpgsql set search_path = '' as $$
begin
  if not exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = p_run_id and (s.owner = session_user or ops._is_admin())) then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
end $$;

-- The user's side: the same functions, each behind its check ------------------------------------------------------

alter function ops.archive_session(uuid) rename to _archive_session;
create function ops.archive_session(p_session_id uuid) returns ops.sessions
language plpgsql as $$
begin
  perform ops._check_session(p_session_id);
  return ops._archive_session(p_session_id);
end $$;

alter function ops.create_runs(jsonb) rename to _create_runs;
-- Every session named must be one the caller may use (a wrong id is reported by _create_runs itself).
create function ops.create_runs(p_runs jsonb) returns setof ops.runs
language plpgsql as $$
declare
  v_session uuid;
begin
  if p_runs is not null and jsonb_typeof(p_runs) = 'array' and not ops._is_admin() then
    for v_session in select distinct (e ->> 'session_id')::uuid from jsonb_array_elements(p_runs) e
                      where e ->> 'session_id' is not null loop
      perform ops._check_session(v_session);
    end loop;
  end if;
  return query select * from ops._create_runs(p_runs);
end $$;

alter function ops.cancel_run(uuid) rename to _cancel_run;
create function ops.cancel_run(p_run_id uuid) returns text
language plpgsql as $$
begin
  perform ops._check_run(p_run_id);
  return ops._cancel_run(p_run_id);
end $$;

alter function ops.retry_run(uuid) rename to _retry_run;
create function ops.retry_run(p_run_id uuid) returns ops.runs
language plpgsql as $$
begin
  perform ops._check_run(p_run_id);
  return ops._retry_run(p_run_id);
end $$;

-- The worker's side: identity ---------------------------------------------------------------------------------------

alter table ops.workers add column token_hash bytea;
alter table ops.workers add column registered_by name;
comment on column ops.workers.token_hash is 'sha256 of the token the worker received when it registered; never readable by clients or workers';

drop function ops.register_worker(text, text, integer, integer, jsonb, text);
-- Registers a worker (again, after a restart: the same login role only) and answers its token, which every later
-- write of the worker must name. A new registration replaces the token: the old process can write nothing more.
create function ops.register_worker(
  p_worker_id text,
  p_host text,
  p_pid integer,
  p_concurrency integer,
  p_labels jsonb default '{}'::jsonb,
  p_version text default null
) returns text
language plpgsql as $$
declare
  v_token text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
begin
  if p_worker_id is null or length(p_worker_id) = 0 or length(p_worker_id) > 200 then
    perform ops._raise('OC003', 'worker id: must be 1 to 200 characters');
  end if;
  if p_concurrency is null or p_concurrency < 1 then
    perform ops._raise('OC003', 'concurrency: must be at least 1');
  end if;
  insert into ops.workers as x (id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat,
                                token_hash, registered_by)
  values (p_worker_id, p_host, p_pid, p_concurrency, coalesce(p_labels, '{}'::jsonb), p_version, 'running', now(), now(),
          sha256(convert_to(v_token, 'UTF8')), session_user)
  on conflict (id) do update
     set host = excluded.host, pid = excluded.pid, concurrency = excluded.concurrency, labels = excluded.labels,
         version = excluded.version, state = 'running', started_at = now(), last_heartbeat = now(),
         token_hash = excluded.token_hash, registered_by = excluded.registered_by
   where x.registered_by is null or x.registered_by = session_user or ops._is_admin();
  if not found then
    perform ops._raise('OC005', format('worker id %s belongs to another login role', p_worker_id), 'give this worker another id');
  end if;
  return v_token;
end $$;

-- Raises OC005 unless the caller is the worker it names: its token, from the login role that registered it.
create function ops._check_worker(p_worker_id text, p_token text) returns void
language plpgsql set search_path = '' as $$
begin
  if not exists (select 1 from ops.workers w
                  where w.id = p_worker_id and w.token_hash = sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
                    and (w.registered_by = session_user or ops._is_admin())) then
    perform ops._raise('OC005', format('worker %s: not registered, or the token is not its token', p_worker_id),
                       'register the worker again (start it again)');
  end if;
end $$;

drop function ops.set_worker_state(text, text);
create function ops.set_worker_state(p_worker_id text, p_token text, p_state text) returns void
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  if p_state is null or p_state not in ('running', 'draining', 'stopped') then
    perform ops._raise('OC003', format('state: %L is not a worker state', p_state), 'use running, draining or stopped');
  end if;
  update ops.workers set state = p_state, last_heartbeat = now() where id = p_worker_id;
end $$;

-- The worker's side: claiming and finishing ---------------------------------------------------------------------------

drop function ops.finish_and_claim(text, jsonb, integer, text[], uuid[], text[], integer);
drop function ops.finish_runs(text, jsonb);
drop function ops._finish_runs(text, jsonb, boolean);
drop function ops.finish_run(uuid, text, integer, text, integer, text);
drop function ops.claim_runs(text, integer, text[], uuid[], text[], integer);

-- Claims up to p_max_runs runs, at most one per lane, and never one from a lane whose run is still going. Lanes are
-- served in the order of their next run (priority, then age); inside a lane the same rule picks the run. Lock order:
-- lane rows (in queue order, skipping locked ones), then the run rows of those lanes' heads.
create function ops._claim_runs(
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
  -- and answers the claimed runs.
  return query
  with claimed as (
    update ops.runs r
       set status = 'running', claimed_by = p_worker_id, claimed_at = clock_timestamp(), attempt = r.attempt + 1,
           heartbeat_at = clock_timestamp(), lease_expires_at = clock_timestamp() + make_interval(secs => p_lease_seconds),
           started_at = clock_timestamp(), updated_at = clock_timestamp()
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

create function ops.claim_runs(
  p_worker_id text,
  p_token text,
  p_max_runs integer,
  p_lanes text[] default null,
  p_sessions uuid[] default null,
  p_repo_ids text[] default null,
  p_lease_seconds integer default 30
) returns setof ops.runs
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  return query select * from ops._claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
end $$;

-- A worker's steady state in one statement: record how its runs ended, then claim up to p_max_runs new ones (0: none).
-- p_results: [{run_id, attempt, status, exit_code?, error?}], each fenced by the worker's lease on its own. Answers the
-- runs it claimed (running, held by the worker) and, for each end the fence refused because the worker no longer holds
-- that run at that attempt, the run as it is now; a recorded end, or one naming no run, answers nothing. A run refused
-- and then claimed again by this same call is answered once, as claimed. A lane it frees and takes again at once wakes
-- nobody; one whose next run it did not take wakes the others.
create function ops.finish_and_claim(
  p_worker_id text,
  p_token text,
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
  v_ids uuid[];
  v_attempts integer[];
  v_statuses text[];
  v_codes integer[];
  v_errors text[];
  v_bad boolean;
  v_finished uuid[];
  v_sessions uuid[];
  v_lanes text[];
  v_refused uuid[];
begin
  perform ops._check_worker(p_worker_id, p_token);
  if p_results is not null and jsonb_typeof(p_results) <> 'array' then
    perform ops._raise('OC003', 'results: expected a JSON array of {run_id, attempt, status}');
  end if;
  if p_results is not null and jsonb_array_length(p_results) > 0 then
    -- one pass over the JSON; the runs are then locked in id order
    select array_agg(i.run_id order by i.run_id), array_agg(i.attempt order by i.run_id),
           array_agg(i.status order by i.run_id), array_agg(i.exit_code order by i.run_id),
           array_agg(i.error order by i.run_id), bool_or(i.status is null or i.status not in ('succeeded', 'failed', 'canceled'))
      into v_ids, v_attempts, v_statuses, v_codes, v_errors, v_bad
      from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text, exit_code integer, error text);
    if v_bad then
      perform ops._raise('OC003', 'status: every result needs a final status', 'use succeeded, failed or canceled');
    end if;
    with finished as (
      update ops.runs r
         set status = u.status, exit_code = u.exit_code, error = u.error, finished_at = clock_timestamp(),
             lease_expires_at = null, updated_at = clock_timestamp()
        from unnest(v_ids, v_attempts, v_statuses, v_codes, v_errors) as u(run_id, attempt, status, exit_code, error)
       where r.id = any (v_ids) and r.id = u.run_id and r.claimed_by = p_worker_id and r.attempt = u.attempt
         and r.status = 'running'
      returning r.id, r.session_id, r.lane
    )
    select array_agg(f.id), array_agg(f.session_id), array_agg(f.lane) into v_finished, v_sessions, v_lanes from finished f;
    if v_finished is not null and ops._watched() then
      perform ops._notify_runs(array(select distinct s from unnest(v_sessions) s));
    end if;
    if cardinality(v_ids) > coalesce(cardinality(v_finished), 0) then
      select array_agg(i) into v_refused from unnest(v_ids) i
       where i is not null and not (i = any (coalesce(v_finished, '{}')));
    end if;
  end if;
  if v_refused is null then
    return query select * from ops._claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
  else
    return query
    with claimed as (
      select * from ops._claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds)
    )
    select * from claimed
    union all
    select r.* from ops.runs r
     where r.id = any (v_refused) and not exists (select 1 from claimed c where c.id = r.id);
  end if;
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

-- The worker's side: the other fenced writes, each behind the worker's check -----------------------------------------

alter function ops.heartbeat(text, uuid[], integer) rename to _heartbeat;
create function ops.heartbeat(p_worker_id text, p_token text, p_run_ids uuid[] default '{}', p_lease_seconds integer default 30)
returns table (run_id uuid, outcome text)
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  return query select * from ops._heartbeat(p_worker_id, p_run_ids, p_lease_seconds);
end $$;

alter function ops.release_run(uuid, text, integer) rename to _release_run;
create function ops.release_run(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer) returns ops.runs
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  return ops._release_run(p_run_id, p_worker_id, p_attempt);
end $$;

alter function ops.append_events(uuid, text, integer, jsonb) rename to _append_events_held;
create function ops.append_events(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer, p_events jsonb)
returns bigint
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  return ops._append_events_held(p_run_id, p_worker_id, p_attempt, p_events);
end $$;

alter function ops.put_artifact(uuid, text, integer, text, text, text, text, jsonb) rename to _put_artifact;
create function ops.put_artifact(
  p_run_id uuid,
  p_worker_id text,
  p_token text,
  p_attempt integer,
  p_kind text,
  p_name text,
  p_mime text,
  p_content text,
  p_meta jsonb default '{}'::jsonb
) returns ops.artifacts
language plpgsql as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  return ops._put_artifact(p_run_id, p_worker_id, p_attempt, p_kind, p_name, p_mime, p_content, p_meta);
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

-- Privileges ------------------------------------------------------------------------------------------------------------

revoke all on schema ops from public;
revoke all on all tables in schema ops from public;
revoke all on all sequences in schema ops from public;
revoke all on all functions in schema ops from public;
alter default privileges in schema ops revoke execute on functions from public;

grant usage on schema ops to ocr_client, ocr_worker;
-- whether the schema is up to date, without writing anything
grant select on ops.schema_migrations to ocr_client, ocr_worker;

grant select on ops.sessions, ops.runs, ops.run_events, ops.artifacts, ops.run_steps, ops.templates to ocr_client;
grant select on ops.sessions, ops.runs to ocr_worker;
grant select (id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat) on ops.workers
  to ocr_client, ocr_worker;

grant execute on function
  ops.create_session(text, text, text[], text, text, text, text, text),
  ops.archive_session(uuid),
  ops.create_runs(jsonb),
  ops.create_run(uuid, text, text, text, jsonb, integer, integer),
  ops.cancel_run(uuid),
  ops.retry_run(uuid),
  ops.watch(text, integer),
  ops.unwatch(text)
  to ocr_client;

grant execute on function
  ops.register_worker(text, text, integer, integer, jsonb, text),
  ops.set_worker_state(text, text, text),
  ops.claim_runs(text, text, integer, text[], uuid[], text[], integer),
  ops.finish_and_claim(text, text, jsonb, integer, text[], uuid[], text[], integer),
  ops.heartbeat(text, text, uuid[], integer),
  ops.release_run(uuid, text, text, integer),
  ops.append_events(uuid, text, text, integer, jsonb),
  ops.put_artifact(uuid, text, text, integer, text, text, text, text, jsonb),
  ops.recover_expired()
  to ocr_worker;

-- Row-level security: a client reads the sessions its login role created and what belongs to them; a worker reads
-- every session and run (it serves them all). The schema's owner is not subject to these policies.
alter table ops.sessions enable row level security;
alter table ops.runs enable row level security;
alter table ops.run_events enable row level security;
alter table ops.artifacts enable row level security;
alter table ops.run_steps enable row level security;
alter table ops.workers enable row level security;
alter table ops.templates enable row level security;
alter table ops.lanes enable row level security;
alter table ops.watchers enable row level security;

create policy sessions_of_client on ops.sessions for select to ocr_client using (owner = session_user);
create policy sessions_of_worker on ops.sessions for select to ocr_worker using (true);
create policy runs_of_client on ops.runs for select to ocr_client
  using (exists (select 1 from ops.sessions s where s.id = session_id and s.owner = session_user));
create policy runs_of_worker on ops.runs for select to ocr_worker using (true);
create policy events_of_client on ops.run_events for select to ocr_client
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.owner = session_user));
create policy artifacts_of_client on ops.artifacts for select to ocr_client
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.owner = session_user));
create policy steps_of_client on ops.run_steps for select to ocr_client
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.owner = session_user));
create policy workers_listed on ops.workers for select to ocr_client, ocr_worker using (true);
create policy templates_listed on ops.templates for select to ocr_client using (true);
