-- Compare attempts: one intent tried in 2 to 4 lanes at once, each with its own executor or agent profile, queued as one
-- comparison group (ops.runs.group_id). A group may also hold, in each of its lanes, a verify run (spec.role =
-- 'verify': a shell command such as `npm test`) queued right behind the lane's attempt, so it runs in the attempt's
-- worktree once the attempt has ended; the Compare view reads its exit code and its log's summary line as the
-- attempt's checks.
alter table ops.runs add column group_id uuid;
comment on column ops.runs.group_id is
  'The comparison group the run belongs to: an attempt of one intent in one of several lanes, or its verify run.';
create index runs_group_idx on ops.runs (group_id) where group_id is not null;

-- Queues a comparison group in one transaction: the runs as create_runs takes them (attempts, and verify runs with
-- spec.role 'verify' after them), checked the same way, all given one new group id. Refused unless the attempts are 2
-- to 4 runs of one session in distinct lanes, each lane holding at most one verify run, queued after its attempt.
create function ops.create_group(p_runs jsonb)
returns setof ops.runs language plpgsql security definer set search_path = '' as $$
declare
  v_group uuid := gen_random_uuid();
  v_attempts integer;
  v_sessions integer;
  v_lane text;
  v_ids uuid[];
begin
  if p_runs is null or jsonb_typeof(p_runs) <> 'array' then
    perform ops._raise('OC003', 'runs: expected a JSON array of the attempts');
  end if;
  select count(*) filter (where coalesce(e -> 'spec' ->> 'role', '') <> 'verify'),
         count(distinct e ->> 'session_id')
    into v_attempts, v_sessions
    from jsonb_array_elements(p_runs) e;
  if v_attempts < 2 or v_attempts > 4 then
    perform ops._raise('OC003', format('attempts: a comparison has 2 to 4 attempts, not %s', v_attempts),
                       'choose between 2 and 4 lanes');
  end if;
  if v_sessions <> 1 then
    perform ops._raise('OC003', 'session_id: the attempts of a comparison are runs of one session');
  end if;
  select e ->> 'lane' into v_lane
    from jsonb_array_elements(p_runs) e
   where coalesce(e -> 'spec' ->> 'role', '') <> 'verify'
   group by e ->> 'lane' having count(*) > 1 limit 1;
  if found then
    perform ops._raise('OC003', format('lanes: lane %s has two attempts', v_lane), 'give each attempt its own lane');
  end if;
  select x.e ->> 'lane' into v_lane
    from jsonb_array_elements(p_runs) with ordinality as x(e, ord)
   where x.e -> 'spec' ->> 'role' = 'verify'
     and (select count(*) from jsonb_array_elements(p_runs) with ordinality as y(e, ord)
           where y.e ->> 'lane' = x.e ->> 'lane' and y.ord < x.ord
             and coalesce(y.e -> 'spec' ->> 'role', '') <> 'verify') <> 1
   limit 1;
  if found then
    perform ops._raise('OC003', format('verify: lane %s has a verify run without one attempt before it', v_lane),
                       'queue one verify run after each attempt');
  end if;
  select array_agg(c.id) into v_ids from ops.create_runs(p_runs) c;
  return query
  update ops.runs r set group_id = v_group where r.id = any (v_ids) returning r.*;
end $$;

revoke all on function ops.create_group(jsonb) from public;
grant execute on function ops.create_group(jsonb) to ocr_client;
