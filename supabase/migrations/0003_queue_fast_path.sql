-- The worker's hot path (claim, finish, finish_and_claim, recovery), cut down to what bench/peers showed it costs.
--
-- 1. Every statement on the path reads by key. On a fresh database (runs queued a moment before the workers start,
--    nothing analysed yet) locking the lanes of the runs being finished was planned as a hash join over a sequential
--    scan of every run: 3 to 5 ms a statement, two thirds of each finish_and_claim call. The functions below look rows
--    up by primary key or walk a partial index, and refuse the plans that read whole tables (none of them ever needs
--    one). Refusing them makes every plan look expensive enough to be compiled to machine code (JIT, 50 ms a
--    statement), so they refuse that too.
--
-- 2. Finishing a run writes the run and nothing else. A lane no longer records which run holds it: the running run of
--    a lane is the one row runs_one_running_per_lane indexes for it (the database's own guarantee of invariant 2), and
--    claiming looks there. Finishing used to lock and rewrite the lane row as well, a third of the rows a run's life
--    wrote. A lane whose run is still going now costs a claim one index probe instead of nothing; such lanes number at
--    most the runs running at once, whatever the length of their queues.
--
-- 3. Each statement is planned once per connection. The planner otherwise planned these statements again on every
--    call (their parameters are arrays, whose size it cannot guess, so the one-off plan always looked cheaper): half
--    of a one-run claim's time. The plans it keeps are the key lookups above whatever the parameters hold.
--    ops._watched(), asked on every call, is PL/pgSQL for the same reason: a SQL function called from PL/pgSQL is
--    planned again in every transaction.
--
-- 4. Claiming and finishing answer straight from their UPDATE. They used to gather RETURNING r.* into ops.runs[]
--    variables and answer from those: PL/pgSQL turned each anonymous row into ops.runs through its text form (every
--    column printed and parsed again), and each run was copied three or four times more on the way out.
--
-- 5. A run that becomes claimable wakes one worker first. Every idle worker used to claim on every ops_queue
--    notification; with four idle workers on two cores the three that found nothing slowed down the one that did
--    (queue to start, p50: 2.2 to 2.8 ms when one worker answered, 3.2 ms when all four did). The notification now
--    names a live worker picked at random (ops._first_worker()). The named worker claims at once; a named worker with
--    no free slot passes the notification on to everyone; the others claim a moment later anyway, for a named worker
--    that died. An empty payload means everyone, at once, as before.
--
-- Lock order is unchanged (a lane row before any run row of it, lanes in (session_id, lane) order, runs in id order);
-- finishing now takes run row locks only.

drop index ops.lanes_ready;
alter table ops.lanes drop column running_run_id;
comment on table ops.lanes is
  'One row per (session, lane): its next queued run (head_*). Its running run, if any, is in runs_one_running_per_lane.';
create index lanes_ready on ops.lanes (head_priority, head_seq) where head_run_id is not null;

-- Live workers: running, with a recent heartbeat. The index finds them among every worker ever registered.
create index workers_live on ops.workers (last_heartbeat) where state = 'running';

-- The worker a queue notification names to claim first: a live one, at random; null when none is live.
create function ops._first_worker() returns text
language plpgsql volatile as $$
begin
  return (select w.id from ops.workers w
           where w.state = 'running' and w.last_heartbeat > now() - interval '1 minute'
           order by random() limit 1);
end $$;

-- As in 0002, except that ops_queue's payload names the worker that claims first ('' when none is live: everyone).
create or replace function ops._notify_runs(p_sessions uuid[], p_claimable boolean default false) returns void
language plpgsql as $$
begin
  if cardinality(p_sessions) > 0 and ops._watched() then
    perform pg_notify('ops_runs', case when cardinality(p_sessions) > 50 then '*' else array_to_string(p_sessions, ',') end);
  end if;
  if p_claimable then
    perform pg_notify('ops_queue', coalesce(ops._first_worker(), ''));
  end if;
end $$;

create or replace function ops._watched() returns boolean
language plpgsql stable as $$
begin
  return exists (select 1 from ops.watchers where expires_at > now());
end $$;

-- Claims up to p_max_runs runs, at most one per lane, and never one from a lane whose run is still going.
-- Lanes are served in the order of their next run (priority, then age); inside a lane the same rule picks the run.
create or replace function ops.claim_runs(
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

-- Ends a run the caller holds: succeeded, failed or canceled. Its lane is free from the moment this commits.
create or replace function ops.finish_run(
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
create or replace function ops._finish_runs(p_worker_id text, p_results jsonb, p_wake boolean) returns setof ops.runs
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

-- A worker's steady state in one statement: record how its runs ended, then claim up to p_max_runs new ones.
-- Answers the newly claimed runs only; a lane it frees and takes again at once wakes nobody.
create or replace function ops.finish_and_claim(
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
create or replace function ops.release_run(p_run_id uuid, p_worker_id text, p_attempt integer) returns ops.runs
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

-- Runs whose lease expired: back to the queue (attempt kept; the next claim counts a new attempt), or failed with
-- 'lease expired' once max_attempts is used up, or canceled if the user had asked for that. Cheap when nothing expired:
-- runs_running_lease holds only running runs, ordered by lease.
create or replace function ops.recover_expired() returns table (run_id uuid, outcome text)
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
