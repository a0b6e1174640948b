-- finish_and_claim also answers the ends it refused, so a worker learns which of its runs' ends were not recorded.

-- A worker's steady state in one statement: record how its runs ended, then claim up to p_max_runs new ones (0: none).
-- Answers the runs it claimed (running, held by the worker) and, for each end the fence refused because the worker no
-- longer holds that run at that attempt, the run as it is now; an end that was recorded, or that names no run, answers
-- nothing. A run refused and then claimed again by this same call is answered once, as claimed. The refused ends are
-- looked for only when fewer runs finished than ends were given. A lane it frees and takes again at once wakes nobody.
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
  v_given integer := 0;
  v_finished uuid[];
  v_sessions uuid[];
  v_lanes text[];
  v_refused uuid[];
begin
  if p_results is not null and jsonb_typeof(p_results) = 'array' then
    v_given := jsonb_array_length(p_results);
  end if;
  if v_given > 0 then
    select array_agg(f.id), array_agg(f.session_id), array_agg(f.lane) into v_finished, v_sessions, v_lanes
      from ops._finish_runs(p_worker_id, p_results, false) f;
  end if;
  if v_given > coalesce(cardinality(v_finished), 0) then
    -- the ends that did not finish their run; their runs are answered after the claim, as they are then
    select array_agg(i.run_id) into v_refused
      from jsonb_to_recordset(p_results) as i(run_id uuid)
     where i.run_id is not null and not (i.run_id = any (coalesce(v_finished, '{}')));
  end if;
  if v_refused is null then
    return query select * from ops.claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
  else
    return query
    with claimed as (
      select * from ops.claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds)
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
