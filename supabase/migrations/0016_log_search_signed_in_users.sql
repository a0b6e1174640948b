-- Log search for a signed-in Supabase user (role authenticated, who may search since 0014_search_for_signed_in_users): the logs of their teams'
-- sessions only, as row-level security has it. A session of no team belongs to the login role that made it, and every
-- request of every user comes as the one login role the API connects as: such a session (one the service role made,
-- say) was every user's to search. A login role's own sessions of no team stay its own, as before.

-- The lines of the runs the caller may read that contain p_query (in any case, colors taken out), newest first: each
-- with its run, session and lane, and up to p_context lines before and after it. Narrowed by session, lane, run
-- statuses and the lines' time (p_from inclusive, p_to exclusive).
create or replace function ops.search_logs(
  p_query text,
  p_session_id uuid default null,
  p_lane text default null,
  p_statuses text[] default null,
  p_from timestamptz default null,
  p_to timestamptz default null,
  p_limit integer default 50,
  p_context integer default 2
) returns table (
  run_id uuid,
  session_id uuid,
  session_title text,
  lane text,
  run_status text,
  run_intent text,
  seq bigint,
  ts timestamptz,
  stream text,
  text text,
  before text[],
  after text[]
)
language plpgsql stable security definer set search_path = ''
set plan_cache_mode = force_custom_plan set jit = off
set enable_seqscan = off set enable_indexscan = on set enable_bitmapscan = on set enable_sort = off
as $$
declare
  -- how many of the newest chunks are read in order at least, before the trigram index may be asked for the older ones
  c_walk constant integer := 200;
  -- who may read which session, as row-level security says it: the schema's owner (or service_role) every one, a
  -- login role the sessions of no team it created, a signed-in user those of their teams (and no session of no team:
  -- such a session's owner is the login role the API connects as, the same for every user)
  v_admin boolean := ops._is_admin();
  v_login boolean := coalesce(pg_catalog.current_setting('role', true), 'none') <> 'authenticated';
  v_teams uuid[] := ops.my_team_ids();
  v_pattern text;
  v_lower text;
  v_mark bigint;
  v_chunks refcursor;
  v_chunk record;
  v_batch_runs uuid[] := '{}';
  v_batch_firsts bigint[] := '{}';
  v_batch_lasts bigint[] := '{}';
  v_batch_size integer := 1;
  v_found record;
  v_runs uuid[] := '{}';
  v_seqs bigint[] := '{}';
  v_times timestamptz[] := '{}';
  v_oldest timestamptz;
  v_phase integer;
  v_bucketed boolean;
  v_bucket_list integer[];
  v_rest_ends timestamptz[];
  v_next integer := 1;
  v_bucket_no integer;
  v_end boolean;
  v_done boolean := false;
  v_walked integer := 0;
  v_walk_ended boolean := false;
  -- chunks of the walk holding the text, and chunks whose lines were read
  v_matching integer := 0;
  v_read integer := 0;
  v_chunk_count float8 := greatest((select c.reltuples from pg_catalog.pg_class c where c.oid = 'ops.log_chunks'::regclass), 1000);
  v_walked_ts timestamptz;
  v_walked_run uuid;
  v_walked_first bigint;
begin
  if p_query is null or pg_catalog.btrim(p_query) = '' then
    perform ops._raise('OC003', 'query: give the text to search for', 'such as ECONNREFUSED or "npm ERR!"');
  end if;
  if pg_catalog.length(p_query) > 500 then
    perform ops._raise('OC003', 'query: at most 500 characters');
  end if;
  if pg_catalog.strpos(p_query, E'\n') > 0 or pg_catalog.strpos(p_query, E'\r') > 0 then
    perform ops._raise('OC003', 'query: one line of text', 'each line of a log is searched on its own');
  end if;
  if pg_catalog.length(pg_catalog.btrim(p_query)) < 3 then
    perform ops._raise('OC003', pg_catalog.format('query: %L is too short to search every log', p_query),
                       'give at least 3 characters, such as ERR or 404');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform ops._raise('OC003', 'limit: must be 1 to 1000');
  end if;
  if p_context is null or p_context < 0 or p_context > 20 then
    perform ops._raise('OC003', 'context: must be 0 to 20 lines');
  end if;
  if p_from is not null and p_to is not null and p_from >= p_to then
    perform ops._raise('OC003', 'since: must be before until');
  end if;
  if p_statuses is not null and exists (select 1 from pg_catalog.unnest(p_statuses) x
      where x is null or x not in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled')) then
    perform ops._raise('OC003', 'status: not a run status', 'use queued, running, waiting, succeeded, failed or canceled');
  end if;
  if p_session_id is not null and not exists (
      select 1 from ops.sessions s
       where s.id = p_session_id and (v_admin or (v_login and s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))) then
    perform ops._raise('OC002', pg_catalog.format('session %s does not exist', p_session_id), 'list sessions with `ocr session list`');
  end if;
  v_pattern := '%' || pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(p_query, '\', '\\'), '%', '\%'), '_', '\_') || '%';
  -- a chunk's text is in lower case already: LIKE with the pattern in lower case is ILIKE without lowering each chunk
  v_lower := pg_catalog.lower(v_pattern);
  select w.run_seq into v_mark from ops.log_index_watermark w;

  -- The lines not in a chunk yet, read directly: the newest of all, as far as anyone knows.
  select coalesce(pg_catalog.array_agg(r.id order by r.seq), '{}'),
         coalesce(pg_catalog.array_agg(coalesce(i.indexed_seq, 0) + 1 order by r.seq), '{}')
    into v_batch_runs, v_batch_firsts
    from ops.runs r join ops.sessions s on s.id = r.session_id left join ops.log_index i on i.run_id = r.id
   where r.seq > v_mark and not coalesce(i.complete, false)
     and (v_admin or (v_login and s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))
     and (p_session_id is null or r.session_id = p_session_id)
     and (p_lane is null or r.lane = p_lane)
     and (p_statuses is null or r.status = any (p_statuses));
  select coalesce(pg_catalog.array_agg(h.run_id order by h.ts desc, h.seq desc), '{}'),
         coalesce(pg_catalog.array_agg(h.seq order by h.ts desc, h.seq desc), '{}'),
         coalesce(pg_catalog.array_agg(h.ts order by h.ts desc, h.seq desc), '{}')
    into v_runs, v_seqs, v_times
    from ops._log_hits(v_batch_runs, v_batch_firsts, null, v_pattern, p_from, p_to, p_limit) h;
  v_batch_runs := '{}';
  v_batch_firsts := '{}';
  if pg_catalog.cardinality(v_times) >= p_limit then
    v_oldest := v_times[pg_catalog.cardinality(v_times)];
  end if;

  -- The chunks holding the text, newest first. First the newest chunks in order, their text read (the index on their
  -- last time): a text in many chunks has its hits there, and meeting a chunk older than enough hits ends the search.
  -- Past c_walk chunks, walking on goes on only while it looks cheaper than the trigram index. Then the older chunks
  -- through the trigram index: a bucket at a time, the newest bucket first, until a bucket ends before the oldest of
  -- enough hits (or all at once where the index has no buckets).
  v_bucketed := exists (select 1 from pg_catalog.pg_index i
                         where i.indexrelid = pg_catalog.to_regclass('ops.log_chunks_text') and i.indnatts > 1);
  v_phase := 1;
  perform pg_catalog.set_config('enable_bitmapscan', 'off', true);
  open v_chunks for
    select w.run_id, w.first_seq, w.last_seq, w.last_ts, w.text operator(pg_catalog.~~) v_lower as holds
      from (select c.run_id, c.first_seq, c.last_seq, c.last_ts, c.text
              from ops.log_chunks c join ops.runs r on r.id = c.run_id join ops.sessions s on s.id = c.session_id
             where (p_from is null or c.last_ts >= p_from) and (p_to is null or c.first_ts < p_to)
               and (v_admin or (v_login and s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))
               and (p_session_id is null or c.session_id = p_session_id)
               and (p_lane is null or r.lane = p_lane)
               and (p_statuses is null or r.status = any (p_statuses))
             order by c.last_ts desc, c.run_id desc, c.first_seq desc) w;
  loop
    loop
      fetch v_chunks into v_chunk;
      v_end := not found;
      if v_end then
        v_walk_ended := v_walk_ended or v_phase = 1;
      else
        if v_phase = 1 then
          v_walked := v_walked + 1;
        end if;
        if v_oldest is not null and v_chunk.last_ts < v_oldest then
          -- a chunk older than the oldest of enough hits cannot add one, nor can any after it in this order
          v_done := v_phase <> 3;
          v_end := true;
        elsif v_phase = 1 and v_walked > c_walk
              and (v_bucketed or v_matching::float8 * v_matching * v_chunk_count
                  < greatest(1, pg_catalog.ceil((p_limit - pg_catalog.cardinality(v_times))::float8 * greatest(v_read, 1)
                                                / greatest(pg_catalog.cardinality(v_times), 1)))::float8 * v_walked * v_walked) then
          -- A bucket through the trigram index costs no more than walking its chunks. Without buckets, walking on costs
          -- about (chunks still needed) / (share of chunks holding the text), the trigram index about (share) × (all
          -- chunks). The walk stops before this chunk.
          v_walked := v_walked - 1;
          v_end := true;
        else
          if v_chunk.holds then
            v_matching := v_matching + 1;
            v_batch_runs := v_batch_runs || v_chunk.run_id;
            v_batch_firsts := v_batch_firsts || v_chunk.first_seq;
            v_batch_lasts := v_batch_lasts || v_chunk.last_seq;
          end if;
          if v_phase = 1 then
            v_walked_ts := v_chunk.last_ts;
            v_walked_run := v_chunk.run_id;
            v_walked_first := v_chunk.first_seq;
          end if;
        end if;
      end if;
      if pg_catalog.cardinality(v_batch_runs) > 0 and (v_end or pg_catalog.cardinality(v_batch_runs) >= v_batch_size) then
        -- the lines of a batch of chunks in one statement; batches grow while the hits are few
        for v_found in
          select * from ops._log_hits(v_batch_runs, v_batch_firsts, v_batch_lasts, v_pattern, p_from, p_to, p_limit)
        loop
          v_runs := v_runs || v_found.run_id;
          v_seqs := v_seqs || v_found.seq;
          v_times := v_times || v_found.ts;
        end loop;
        v_read := v_read + pg_catalog.cardinality(v_batch_runs);
        v_batch_runs := '{}';
        v_batch_firsts := '{}';
        v_batch_lasts := '{}';
        v_batch_size := least(v_batch_size * 2, 64);
        if pg_catalog.cardinality(v_times) >= p_limit then
          select pg_catalog.array_agg(k.r order by k.t desc, k.s desc), pg_catalog.array_agg(k.s order by k.t desc, k.s desc),
                 pg_catalog.array_agg(k.t order by k.t desc, k.s desc)
            into v_runs, v_seqs, v_times
            from (select u.r, u.s, u.t
                    from rows from (pg_catalog.unnest(v_runs), pg_catalog.unnest(v_seqs), pg_catalog.unnest(v_times)) u(r, s, t)
                   order by u.t desc, u.s desc limit p_limit) k;
          v_oldest := v_times[p_limit];
        end if;
      end if;
      exit when v_end;
    end loop;
    close v_chunks;
    -- the walk saw every chunk, or enough hits are in
    exit when v_done or v_walk_ended or v_walked = 0;
    -- the next chunks through the trigram index, older than those walked
    if v_phase = 1 then
      perform pg_catalog.set_config('enable_bitmapscan', 'on', true);
      perform pg_catalog.set_config('enable_indexscan', 'off', true);
      perform pg_catalog.set_config('enable_sort', 'on', true);
      if v_bucketed then
        -- the buckets that may hold older chunks, the last made first, and the time the latest chunk of each and of
        -- all the buckets after it in this order ends
        select coalesce(pg_catalog.array_agg(b.bucket order by b.bucket desc), '{}'),
               coalesce(pg_catalog.array_agg(b.last_ts order by b.bucket desc), '{}')
          into v_bucket_list, v_rest_ends
          from ops.log_buckets b
         where b.first_ts <= v_walked_ts and (p_to is null or b.first_ts < p_to) and (p_from is null or b.last_ts >= p_from);
        for i in reverse pg_catalog.cardinality(v_rest_ends) - 1 .. 1 loop
          v_rest_ends[i] := greatest(v_rest_ends[i], v_rest_ends[i + 1]);
        end loop;
      end if;
    elsif v_phase = 2 then
      exit;
    end if;
    if v_bucketed then
      -- nothing left, or nothing left newer than the oldest of enough hits
      exit when v_next > pg_catalog.cardinality(v_bucket_list) or (v_oldest is not null and v_rest_ends[v_next] < v_oldest);
      -- the next bucket (one bucket is one key of the index: a range of them would make it read every entry)
      v_bucket_no := v_bucket_list[v_next];
      v_next := v_next + 1;
      v_phase := 3;
    else
      v_phase := 2;
    end if;
    open v_chunks for
      select c.run_id, c.first_seq, c.last_seq, c.last_ts, true as holds
        from ops.log_chunks c join ops.runs r on r.id = c.run_id join ops.sessions s on s.id = c.session_id
       where (v_bucket_no is null or c.bucket = v_bucket_no)
         and c.text operator(pg_catalog.~~) v_lower
         and (c.last_ts, c.run_id, c.first_seq) < (v_walked_ts, v_walked_run, v_walked_first)
         and (v_oldest is null or c.last_ts >= v_oldest)
         and (p_from is null or c.last_ts >= p_from) and (p_to is null or c.first_ts < p_to)
         and (v_admin or (v_login and s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))
         and (p_session_id is null or c.session_id = p_session_id)
         and (p_lane is null or r.lane = p_lane)
         and (p_statuses is null or r.status = any (p_statuses))
       order by c.last_ts desc, c.run_id desc, c.first_seq desc;
  end loop;
  return query
  select e.run_id, r.session_id, s.title, r.lane, r.status, r.intent, e.seq, e.ts, e.stream, e.text,
         array(select b.text from ops.run_events b
                where b.run_id = e.run_id and b.seq >= e.seq - p_context and b.seq < e.seq order by b.seq),
         array(select a.text from ops.run_events a
                where a.run_id = e.run_id and a.seq > e.seq and a.seq <= e.seq + p_context order by a.seq)
    from rows from (pg_catalog.unnest(v_runs), pg_catalog.unnest(v_seqs), pg_catalog.unnest(v_times)) h(run_id, seq, ts)
    join ops.run_events e on e.run_id = h.run_id and e.seq = h.seq
    join ops.runs r on r.id = e.run_id
    join ops.sessions s on s.id = r.session_id
   order by h.ts desc, h.seq desc, h.run_id
   limit p_limit;
end $$;
