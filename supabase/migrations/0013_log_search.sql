-- Search every log: a piece of text (an error message, a file name, "ECONNREFUSED", "npm ERR!") found in the lines of
-- every run the caller may read, newest first, with a few lines around each hit: ops.search_logs.
--
-- It matches the line as a person reads it (terminal colors and escapes taken out) containing the text, in any case:
-- substrings, like the Runboard's own search box. "ECONNREF" finds "ECONNREFUSED", "merge33.test.ts" finds
-- "src/users/merge33.test.ts".
--
-- HOW IT WAS CHOSEN (measured first on 1 million realistic lines, 2 busy cores, PostgreSQL 15; npm run
-- bench:log-search gives the figures at 10 million):
--
--   * Full-text search (GIN on to_tsvector('simple', text)) answers words, not substrings: a file name is one token
--     ("src/users/merge33.test.ts"), so "merge33.test.ts" found 0 of its 37 lines, "ECONNREF" 0 of 1,061, "checkout"
--     22,624 of 31,876, a commit hash's first characters nothing. And it slowed append_events by about 50 %.
--   * pg_trgm's GIN (gin_trgm_ops) answers substrings exactly. On the lines it writes some 70 trigram entries per
--     line as the line is stored: append_events became 60 % (colors stripped first) to 76 % (raw text) slower; 90 %
--     with fastupdate off; still 60 % with a 64 MB pending list (the trigrams are made as the row goes in).
--
-- pg_trgm, then, but not on the lines: append_events may lose at most 20 %. Lines are put, after they are stored, into
-- CHUNKS: up to 100 consecutive lines of one run (at most 16,000 characters) kept as one text (the lines' plain text
-- in lower case, one per line), with pg_trgm's GIN over it. ops.index_logs makes them; workers call it in their
-- maintenance tick (every 5 s, about a quarter of a second of work, one worker at a time). append_events does nothing
-- more than before. A chunk holds some 5 KB where its lines hold 100 index entries each.
--
-- A search reads the newest chunks in order first (an index on their last time): a text in many chunks has its hits
-- there. Then it asks the trigram index for the older chunks holding the text (pg_trgm rechecks each against its text,
-- so every chunk it answers does hold it), a BUCKET of 2,000 chunks at a time, newest bucket first: a chunk holds
-- many trigrams, so a text made of common ones (a version, a path, a port) may match the trigrams of far more chunks
-- than hold the text, and one bucket at a time a search pays for its newest hits rather than for every chunk. Either
-- way it stops once it has its hits and what is left is older than the oldest of them, and reads the lines of the
-- chunks that hold the text to find which. Lines not in a chunk yet (a running run's last lines, a backlog the
-- workers have not reached) are read directly: a search always sees every line, the chunks only make it fast.
--
-- pg_trgm and btree_gin (which lets the trigram index hold the bucket too) ship in PostgreSQL's contrib: with the
-- machine's PostgreSQL 15 and with the embedded PostgreSQL (embedded-postgres 17.x carries pg_trgm.so and
-- btree_gin.so). Both are trusted extensions: the owner of a database may create them. Where one is installed already
-- (Supabase keeps them in the schema extensions) that one is used; else it is created in the schema extensions. Where
-- it cannot be (not shipped, not allowed), this migration applies all the same: without btree_gin the trigram index
-- covers the text alone and the older chunks are sorted all at once; without pg_trgm there is no trigram index, and a
-- search reads the chunks' text from the newest (correct, slower on a large database).

-- Chunks of lines. A run's chunks cover its lines 1, 2, … without gaps, in order.
create table ops.log_chunks (
  run_id uuid not null references ops.runs (id) on delete cascade,
  session_id uuid not null,
  -- the chunk's bucket: chunks are numbered in the order they are made, 2,000 to a bucket (ops.log_buckets)
  bucket integer not null,
  first_seq bigint not null,
  last_seq bigint not null,
  first_ts timestamptz not null,
  last_ts timestamptz not null,
  -- the lines' plain text (escapes taken out), in lower case, joined by line breaks
  text text not null,
  primary key (run_id, first_seq),
  check (last_seq >= first_seq)
);
-- A search reads many chunks' text: kept in the row (up to 8 KB, compressed), not in the TOAST table, where each read
-- costs an index lookup and several more pages (measured: 140 µs a chunk against about 15).
alter table ops.log_chunks alter column text set storage main;
create index log_chunks_newest on ops.log_chunks (last_ts, run_id, first_seq);
create index log_chunks_session_newest on ops.log_chunks (session_id, last_ts, run_id, first_seq);
comment on table ops.log_chunks is
  'Log search: up to 100 consecutive lines of a run as one plain text, with a trigram index (ops.index_logs writes them)';

-- The buckets of chunks, each with the times its chunks end between. A search asks the trigram index one bucket at a
-- time, the newest first, so that a text in many old chunks costs what its newest hits cost, not what all of them do.
create table ops.log_buckets (
  bucket integer primary key,
  first_ts timestamptz not null,
  last_ts timestamptz not null,
  chunks integer not null
);
create index log_buckets_newest on ops.log_buckets (last_ts);

-- The trigram index: pg_trgm's GIN over the chunks' text, with the bucket and the session beside it (btree_gin's: one
-- index answers "these buckets, this session, this text"); without btree_gin, over the text alone; without pg_trgm,
-- none (see the top of this file).
do $$
declare
  v_trgm text;
  v_btree boolean;
begin
  v_trgm := (select n.nspname from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
              where e.extname = 'pg_trgm');
  if v_trgm is null then
    begin
      create schema if not exists extensions;
      create extension pg_trgm with schema extensions;
      v_trgm := 'extensions';
    exception when others then
      raise notice 'log search without a trigram index: pg_trgm could not be created (%)', sqlerrm;
    end;
  end if;
  v_btree := exists (select 1 from pg_catalog.pg_extension e where e.extname = 'btree_gin');
  if not v_btree then
    begin
      create schema if not exists extensions;
      create extension btree_gin with schema extensions;
      v_btree := true;
    exception when others then
      raise notice 'log search without buckets in its trigram index: btree_gin could not be created (%)', sqlerrm;
    end;
  end if;
  if v_trgm is not null then
    begin
      execute pg_catalog.format('create index log_chunks_text on ops.log_chunks using gin (%s text %I.gin_trgm_ops)',
                                case when v_btree then 'bucket, session_id,' else '' end, v_trgm);
    exception when others then
      raise notice 'log search without a trigram index: it could not be made (%)', sqlerrm;
    end;
  end if;
  -- lz4 unpacks several times faster than pglz, where the server was built with it
  if exists (select 1 from pg_catalog.pg_settings where name = 'default_toast_compression' and 'lz4' = any (enumvals)) then
    alter table ops.log_chunks alter column text set compression lz4;
  end if;
end $$;

-- How far each run's lines are in chunks; complete once the run has ended and all its lines are.
create table ops.log_index (
  run_id uuid primary key references ops.runs (id) on delete cascade,
  indexed_seq bigint not null default 0,
  complete boolean not null default false
);

-- Every run up to this one (ops.runs.seq) has ended and has all its lines in chunks: neither the indexer nor a search
-- looks at those runs' lines again.
create table ops.log_index_watermark (
  id boolean primary key default true check (id),
  run_seq bigint not null default 0
);
insert into ops.log_index_watermark default values;

alter table ops.log_chunks enable row level security;
alter table ops.log_buckets enable row level security;
alter table ops.log_index enable row level security;
alter table ops.log_index_watermark enable row level security;
revoke all on ops.log_chunks, ops.log_buckets, ops.log_index, ops.log_index_watermark from public;

-- A line's text as a person reads it: CSI sequences (colors, cursor moves) and OSC sequences (titles, links) taken out.
-- Written out where it is used rather than called: a function with its own search_path is not inlined, and it runs
-- once for every line a search reads.
--   case when strpos(text, E'\x1b') = 0 then text
--        else regexp_replace(text, E'\x1b(\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1b]*(\x07|\x1b\\\\)?)', '', 'g') end

-- Puts the next lines of runs into chunks for about p_max_ms of work at most; answers how many lines it put. A
-- running run's lines go in by whole chunks, an ended run's last lines as a shorter one. One indexer at a time: the
-- others answer 0 at once. Workers call it in their maintenance tick.
create function ops.index_logs(p_max_ms integer default 250) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  c_lines constant integer := 100;
  c_chars constant integer := 16000;
  c_bucket constant integer := 2000;
  v_bucket integer;
  v_bucket_chunks integer;
  v_start timestamptz := pg_catalog.clock_timestamp();
  v_mark bigint;
  v_new_mark bigint;
  v_done integer := 0;
  v_run record;
  v_indexed bigint;
  v_final boolean;
  v_count integer;
  v_last bigint;
  v_first_ts timestamptz;
  v_last_ts timestamptz;
  v_text text;
  v_more boolean;
  v_out_of_time boolean := false;
begin
  if p_max_ms is null or p_max_ms < 1 then
    perform ops._raise('OC003', 'max ms: must be at least 1');
  end if;
  if not pg_catalog.pg_try_advisory_xact_lock(727002) then
    return 0;
  end if;
  select w.run_seq into v_mark from ops.log_index_watermark w;
  select b.bucket, b.chunks into v_bucket, v_bucket_chunks from ops.log_buckets b order by b.bucket desc limit 1;
  if v_bucket is null then
    v_bucket := 0;
    v_bucket_chunks := 0;
  end if;
  for v_run in
    select r.id, r.session_id, r.status, coalesce(i.indexed_seq, 0) as indexed_seq
      from ops.runs r left join ops.log_index i on i.run_id = r.id
     where r.seq > v_mark and not coalesce(i.complete, false)
     order by r.seq
  loop
    -- the status before the lines: a run seen ended here has stored its last line
    v_final := v_run.status in ('succeeded', 'failed', 'canceled');
    v_indexed := v_run.indexed_seq;
    loop
      v_out_of_time := pg_catalog.clock_timestamp() - v_start > pg_catalog.make_interval(secs => p_max_ms / 1000.0);
      exit when v_out_of_time;
      -- the next lines: c_lines of them, fewer when they pass c_chars (the first one always)
      select count(*), max(x.seq), min(x.ts), max(x.ts), pg_catalog.lower(pg_catalog.string_agg(x.plain, E'\n' order by x.seq))
        into v_count, v_last, v_first_ts, v_last_ts, v_text
        from (select e.seq, e.ts,
                     case when pg_catalog.strpos(e.text, E'\x1b') = 0 then e.text
                          else pg_catalog.regexp_replace(e.text, E'\x1b(\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1b]*(\x07|\x1b\\\\)?)', '', 'g') end as plain,
                     sum(pg_catalog.length(e.text) + 1) over (order by e.seq) - pg_catalog.length(e.text) - 1 as before
                from ops.run_events e
               where e.run_id = v_run.id and e.seq > v_indexed
               order by e.seq
               limit c_lines) x
       where x.before = 0 or x.before + pg_catalog.length(x.plain) < c_chars;
      exit when v_count = 0;
      v_more := exists (select 1 from ops.run_events e where e.run_id = v_run.id and e.seq > v_last);
      -- a running run's last lines wait until they fill a chunk, or the run ends
      exit when not v_final and not v_more and v_count < c_lines;
      if v_bucket_chunks >= c_bucket then
        v_bucket := v_bucket + 1;
        v_bucket_chunks := 0;
      end if;
      insert into ops.log_chunks (run_id, session_id, bucket, first_seq, last_seq, first_ts, last_ts, text)
      values (v_run.id, v_run.session_id, v_bucket, v_indexed + 1, v_last, v_first_ts, v_last_ts, v_text);
      insert into ops.log_buckets as b (bucket, first_ts, last_ts, chunks) values (v_bucket, v_first_ts, v_last_ts, 1)
      on conflict (bucket) do update
        set first_ts = least(b.first_ts, excluded.first_ts), last_ts = greatest(b.last_ts, excluded.last_ts), chunks = b.chunks + 1;
      v_bucket_chunks := v_bucket_chunks + 1;
      v_indexed := v_last;
      v_done := v_done + v_count;
    end loop;
    if v_indexed <> v_run.indexed_seq or (v_final and not v_out_of_time) then
      insert into ops.log_index as i (run_id, indexed_seq, complete)
      values (v_run.id, v_indexed, v_final and not v_out_of_time)
      on conflict (run_id) do update set indexed_seq = excluded.indexed_seq, complete = excluded.complete;
    end if;
    exit when v_out_of_time;
  end loop;
  v_new_mark := coalesce((select min(r.seq) - 1 from ops.runs r left join ops.log_index i on i.run_id = r.id
                           where r.seq > v_mark and not coalesce(i.complete, false)),
                         (select max(r.seq) from ops.runs r), v_mark);
  if v_new_mark <> v_mark then
    update ops.log_index_watermark set run_seq = v_new_mark;
  end if;
  return v_done;
end $$;

-- The lines of some stretches of runs' logs that contain the text (p_pattern: an ILIKE pattern), the newest p_limit
-- of them. A stretch is a run, its first line and its last (null: to the end).
create function ops._log_hits(
  p_runs uuid[], p_firsts bigint[], p_lasts bigint[], p_pattern text, p_from timestamptz, p_to timestamptz,
  p_limit integer
) returns table (run_id uuid, seq bigint, ts timestamptz)
language sql stable set search_path = '' as $$
  select g.run_id, h.seq, h.ts
    from rows from (pg_catalog.unnest(p_runs), pg_catalog.unnest(p_firsts), pg_catalog.unnest(p_lasts)) g(run_id, first_seq, last_seq)
    cross join lateral (
      select e.seq, e.ts from ops.run_events e
       where e.run_id = g.run_id and e.seq >= g.first_seq and e.seq <= coalesce(g.last_seq, 9223372036854775807)
         and (p_from is null or e.ts >= p_from) and (p_to is null or e.ts < p_to)
         and (case when pg_catalog.strpos(e.text, E'\x1b') = 0 then e.text
                   else pg_catalog.regexp_replace(e.text, E'\x1b(\\[[0-?]*[ -/]*[@-~]|\\][^\x07\x1b]*(\x07|\x1b\\\\)?)', '', 'g') end)
             operator(pg_catalog.~~*) p_pattern
       order by e.ts desc, e.seq desc
       limit p_limit) h
   order by h.ts desc, h.seq desc
   limit p_limit;
$$;

-- The lines of the runs the caller may read that contain p_query (in any case, colors taken out), newest first: each
-- with its run, session and lane, and up to p_context lines before and after it. Narrowed by session, lane, run
-- statuses and the lines' time (p_from inclusive, p_to exclusive).
create function ops.search_logs(
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
  -- login role the sessions of no team it created, a signed-in user those of their teams
  v_admin boolean := ops._is_admin();
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
       where s.id = p_session_id and (v_admin or (s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))) then
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
     and (v_admin or (s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))
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
               and (v_admin or (s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))
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
         and (v_admin or (s.team_id is null and s.owner = session_user) or s.team_id = any (v_teams))
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

revoke all on function ops.index_logs(integer),
  ops._log_hits(uuid[], bigint[], bigint[], text, timestamptz, timestamptz, integer),
  ops.search_logs(text, uuid, text, text[], timestamptz, timestamptz, integer, integer) from public;
grant execute on function ops.search_logs(text, uuid, text, text[], timestamptz, timestamptz, integer, integer) to ocr_client;
grant execute on function ops.index_logs(integer) to ocr_worker;
