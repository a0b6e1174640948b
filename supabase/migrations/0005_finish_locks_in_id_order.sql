-- finish_and_claim locks the runs it finishes in id order, as the heartbeat does, so a worker's heartbeat and its
-- finishing statement, on two connections, never wait for each other in a circle.

-- A worker's steady state in one statement: record how its runs ended, then claim up to p_max_runs new ones (0: none).
-- p_results: [{run_id, attempt, status, exit_code?, error?}], each fenced by the worker's lease on its own. Answers the
-- runs it claimed (running, held by the worker) and, for each end the fence refused because the worker no longer holds
-- that run at that attempt, the run as it is now; a recorded end, or one naming no run, answers nothing. A run refused
-- and then claimed again by this same call is answered once, as claimed. A lane it frees and takes again at once wakes
-- nobody; one whose next run it did not take wakes the others.
create or replace function ops.finish_and_claim(
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
security definer
set search_path = ''
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
    -- one pass over the JSON
    select array_agg(i.run_id order by i.run_id), array_agg(i.attempt order by i.run_id),
           array_agg(i.status order by i.run_id), array_agg(i.exit_code order by i.run_id),
           array_agg(i.error order by i.run_id), bool_or(i.status is null or i.status not in ('succeeded', 'failed', 'canceled'))
      into v_ids, v_attempts, v_statuses, v_codes, v_errors, v_bad
      from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text, exit_code integer, error text);
    if v_bad then
      perform ops._raise('OC003', 'status: every result needs a final status', 'use succeeded, failed or canceled');
    end if;
    -- The runs are locked in id order before they are written, as the heartbeat locks them: the update's join would
    -- lock them in the order of its plan, and a heartbeat of the same worker renewing the same runs then deadlocks.
    perform 1 from ops.runs r where r.id = any (v_ids) order by r.id for update;
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
