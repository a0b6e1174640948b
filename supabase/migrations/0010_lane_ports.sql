-- Ports per lane. Every lane that runs holds a range of TCP ports its runs may listen on (OCR_PORT, the first, and
-- OCR_PORT_COUNT of them), leased in the database so that no two lanes of any session of this database get the same
-- port — whichever machine their worker is on. A range is taken the first time a worker prepares the lane for a run
-- (lease_lane_ports, fenced by the worker's lease on that run); the lane keeps it for every later run; archiving the
-- session frees it (a trigger on ops.sessions, so every way of archiving frees it).
--
-- Ranges come from one window, 20000-29999: the lowest start where the range fits, so with the default 10 ports a lane
-- the window holds 1000 lanes. An exclusion constraint keeps any two ranges apart, whatever their sizes; leases are
-- taken one at a time (a table lock held to the end of the leasing statement's transaction), so concurrent leases never
-- pick the same start. Lock order: the session row (share), the run row, then the table: archive_session locks the
-- session row first too.

create table ops.lane_ports (
  session_id uuid not null references ops.sessions (id) on delete cascade,
  lane       text not null,
  port_base  integer not null check (port_base between 1024 and 65535),
  port_count integer not null check (port_count between 1 and 1000),
  leased_at  timestamptz not null default now(),
  -- the worker that leased it
  leased_by  text,
  primary key (session_id, lane),
  constraint lane_ports_apart exclude using gist (int4range(port_base, port_base + port_count) with &&)
);
comment on table ops.lane_ports is
  'The TCP ports each lane of a live session may use: port_base .. port_base + port_count - 1 (OCR_PORT, OCR_PORT_COUNT).';

create function ops.lease_lane_ports(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer, p_count integer default 10)
returns ops.lane_ports language plpgsql security definer set search_path = '' as $$
declare
  c_first constant integer := 20000;
  c_end   constant integer := 30000; -- the first port after the window
  v_session uuid;
  v_status text;
  v_lane text;
  v_base integer;
  v ops.lane_ports;
begin
  perform ops._check_worker(p_worker_id, p_token);
  if p_count is null or p_count < 1 or p_count > 1000 then
    perform ops._raise('OC003', format('port count: %s is not 1 to 1000', coalesce(p_count::text, 'null')), 'give each lane 1 to 1000 ports (10 by default)');
  end if;
  -- the session first, as archive_session locks it: an archive waits for this lease, or this lease sees it archived
  select s.id, s.status into v_session, v_status
    from ops.sessions s join ops.runs r on r.session_id = s.id where r.id = p_run_id
     for share of s;
  select lane into v_lane from ops._check_held(p_run_id, p_worker_id, p_attempt);
  select * into v from ops.lane_ports where session_id = v_session and lane = v_lane;
  if found then
    return v;
  end if;
  if v_status <> 'active' then
    perform ops._raise('OC004', format('session %s is archived: its lanes get no ports', v_session));
  end if;
  lock table ops.lane_ports in share row exclusive mode;
  -- the lowest start that fits: the window's first port, or the end of a leased range
  select c.s into v_base
    from (select c_first as s union select l.port_base + l.port_count from ops.lane_ports l) c
   where c.s >= c_first and c.s + p_count <= c_end
     and not exists (select 1 from ops.lane_ports l
                      where int4range(l.port_base, l.port_base + l.port_count) && int4range(c.s, c.s + p_count))
   order by c.s
   limit 1;
  if v_base is null then
    perform ops._raise('OC004',
      format('no free range of %s ports in %s-%s: every one is leased by a lane of a session that is not archived', p_count, c_first, c_end - 1),
      'archive the sessions you are done with (ocr session archive ID, or Archive Session in the editor): their lanes'' ports are freed');
  end if;
  insert into ops.lane_ports (session_id, lane, port_base, port_count, leased_by)
  values (v_session, v_lane, v_base, p_count, p_worker_id)
  returning * into v;
  perform ops._notify_runs(array[v_session]);
  return v;
end $$;

-- Archiving a session frees its lanes' ports (its running runs are being stopped; a new run cannot start in it).
create function ops._release_lane_ports() returns trigger
language plpgsql set search_path = '' as $$
begin
  delete from ops.lane_ports where session_id = new.id;
  return null;
end $$;

create trigger sessions_archived_release_ports after update of status on ops.sessions
  for each row when (new.status = 'archived' and old.status is distinct from 'archived')
  execute function ops._release_lane_ports();

-- What the sessions whose ids begin with these 8 hex digits are (a lane worktree's folder and branch name its session
-- by them): active or archived, and how many of their runs still run. For cleaning worktrees up on a machine: a
-- worktree whose session is not listed has no session any more. It answers for every session, not only the caller's
-- own, so a worktree of a session the caller may not read is never taken for one whose session is gone; it tells
-- nothing but the status of a session whose id the caller has the first 8 digits of.
create function ops.worktree_sessions(p_short_ids text[])
returns table (short_id text, session_id uuid, status text, running integer)
language plpgsql stable security definer set search_path = '' as $$
begin
  if p_short_ids is null or cardinality(p_short_ids) > 10000 then
    perform ops._raise('OC003', 'short ids: expected a list of at most 10000');
  end if;
  if exists (select 1 from unnest(p_short_ids) x where x is null or x !~ '^[0-9a-f]{8}$') then
    perform ops._raise('OC003', 'short ids: each is the first 8 hex digits of a session id, in lower case');
  end if;
  return query
    select x.short_id, s.id, s.status,
           (select count(*)::integer from ops.runs r where r.session_id = s.id and r.status = 'running')
      from (select distinct u as short_id from unnest(p_short_ids) u) x
      join ops.sessions s
        on s.id between (substr(x.short_id, 1, 8) || '-0000-0000-0000-000000000000')::uuid
                    and (substr(x.short_id, 1, 8) || '-ffff-ffff-ffff-ffffffffffff')::uuid
     order by x.short_id, s.id;
end $$;

revoke all on ops.lane_ports from public;
revoke all on function ops.lease_lane_ports(uuid, text, text, integer, integer) from public;
revoke all on function ops._release_lane_ports() from public;
revoke all on function ops.worktree_sessions(text[]) from public;

grant select on ops.lane_ports to ocr_client, ocr_worker;
grant execute on function ops.lease_lane_ports(uuid, text, text, integer, integer) to ocr_worker;
grant execute on function ops.worktree_sessions(text[]) to ocr_client, ocr_worker;

alter table ops.lane_ports enable row level security;
create policy lane_ports_of_client on ops.lane_ports for select to ocr_client
  using (exists (select 1 from ops.sessions s where s.id = session_id and s.owner = session_user));
create policy lane_ports_of_worker on ops.lane_ports for select to ocr_worker using (true);
