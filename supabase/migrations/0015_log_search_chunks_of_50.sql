-- Log search's chunks hold up to 50 lines from now on, not 100, and a bucket 4,000 chunks (the same 200,000 lines).
--
-- A text made of common words and numbers ("validate-3.12.", "processed 4033 records", "reading 'flush'") matches
-- the trigrams of far more chunks than hold it, and a search rechecks each of those; the fewer lines a chunk holds,
-- the fewer of them do. npm run bench:log-search, 10 million lines on 2 cores, 50 searches:
--
--   chunk of   p50      p95      slowest   over 100 ms   chunks and trigram index   put into chunks
--   100 lines  20.9 ms  114 ms   220 ms    4 of 50       754 MB, 345 MB             61,000 lines/s
--    50 lines  19.4 ms   65 ms    85 ms    none          855 MB, 429 MB             46,000 lines/s
--
-- Chunks made before stay as they are: a search reads chunks of any length alike.

comment on table ops.log_chunks is
  'Log search: up to 50 consecutive lines of a run as one plain text, with a trigram index (ops.index_logs writes them)';

-- Puts the next lines of runs into chunks for about p_max_ms of work at most; answers how many lines it put. A
-- running run's lines go in by whole chunks, an ended run's last lines as a shorter one. One indexer at a time: the
-- others answer 0 at once. Workers call it in their maintenance tick.
create or replace function ops.index_logs(p_max_ms integer default 250) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  c_lines constant integer := 50;
  c_chars constant integer := 16000;
  c_bucket constant integer := 4000;
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
