-- The worker's hot path (finish_and_claim, claim_runs, finishing, recovery) reads and writes only by key.
--
-- Measured with bench/peers on a fresh database (20,000 runs queued a moment before the workers start, so autovacuum
-- has not analysed anything yet): locking the lanes of the runs being finished was planned as a hash join over a
-- sequential scan of every run, 3 to 5 ms per statement, two thirds of each finish_and_claim call. Every statement
-- below looks rows up by primary key or walks a partial index, so the functions that run them forbid the plans that
-- read whole tables; none of them ever needs one. Forbidding them makes every other plan look expensive, which would
-- compile the statements to machine code (JIT, 50 ms a statement): they forbid that too.
--
-- runs_running_lease is gone: it cost an index entry on every claim, and the running runs it indexed are the same
-- rows runs_one_running_per_lane indexes, few (at most the workers' total concurrency) and found there as cheaply.

drop index ops.runs_running_lease;

create or replace function ops._finish_runs(p_worker_id text, p_results jsonb, p_wake boolean) returns setof ops.runs
language plpgsql
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
  v_ids uuid[];
  v_bad boolean;
  v_done ops.runs[];
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
  perform 1 from ops.lanes l
   where (l.session_id, l.lane) in (select r.session_id, r.lane from ops.runs r where r.id = any (v_ids))
   order by l.session_id, l.lane
     for update;
  with i as (
    select * from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text, exit_code integer, error text)
  ), done as (
    update ops.runs r
       set status = i.status, exit_code = i.exit_code, error = i.error, finished_at = now(), lease_expires_at = null,
           updated_at = now()
      from i
     where r.id = any (v_ids) and r.id = i.run_id and r.claimed_by = p_worker_id and r.attempt = i.attempt
       and r.status = 'running'
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

alter function ops.claim_runs(text, integer, text[], uuid[], text[], integer)
  set enable_seqscan = off;
alter function ops.claim_runs(text, integer, text[], uuid[], text[], integer)
  set enable_hashjoin = off;
alter function ops.claim_runs(text, integer, text[], uuid[], text[], integer)
  set enable_mergejoin = off;
alter function ops.claim_runs(text, integer, text[], uuid[], text[], integer)
  set jit = off;

-- The expired leases are among the running runs, which runs_one_running_per_lane indexes.
alter function ops.recover_expired() set enable_seqscan = off;
alter function ops.recover_expired() set enable_hashjoin = off;
alter function ops.recover_expired() set enable_mergejoin = off;
alter function ops.recover_expired() set jit = off;
