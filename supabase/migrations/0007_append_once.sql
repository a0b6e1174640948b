-- A batch of log lines is stored once, even when the worker sends it again. The worker sends a batch again when it got
-- no answer: the connection broke, or the server stopped, after the batch may have been committed. The worker now
-- says which line of the run it has seen last (p_after_seq); a batch whose first line already stands after that one
-- (the same time, stream and text: a worker stamps each line with its own time) was stored by the call that got no
-- answer, and the answer is given again instead of storing the lines twice. A batch is stored in one statement, so
-- its lines are one run of seqs starting at its first.
drop function ops.append_events(uuid, text, text, integer, jsonb);

create function ops.append_events(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer, p_events jsonb,
                                  p_after_seq bigint)
returns bigint language plpgsql security definer set search_path = '' as $$
declare
  v_first jsonb := case when jsonb_typeof(p_events) = 'array' then p_events -> 0 end;
  v_seq bigint;
begin
  perform ops._check_worker(p_worker_id, p_token);
  if v_first is not null and p_after_seq is not null then
    select e.seq into v_seq from ops.run_events e
      where e.run_id = p_run_id and e.seq > p_after_seq
        and e.ts = (v_first ->> 'ts')::timestamptz
        and e.stream = coalesce(v_first ->> 'stream', 'stdout')
        and e.text = coalesce(v_first ->> 'text', '')
      order by e.seq limit 1;
    if found then
      return v_seq + jsonb_array_length(p_events) - 1;
    end if;
  end if;
  return ops._append_events_held(p_run_id, p_worker_id, p_attempt, p_events);
end $$;

revoke all on function ops.append_events(uuid, text, text, integer, jsonb, bigint) from public;
grant execute on function ops.append_events(uuid, text, text, integer, jsonb, bigint) to ocr_worker;
