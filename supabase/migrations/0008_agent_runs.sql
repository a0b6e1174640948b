-- Coding-agent runs keep what the worker learned of the agent's conversation on the run itself (ops.runs.agent): the
-- profile, the agent's own session id (a follow-up resumes it), the model, tokens and cost, the action it is on, the
-- tools it was denied and whether it ended waiting for the user (needs input), and a budget it ran past. The worker
-- writes it while the run goes (the Sessions tree shows the current action, the Runboard the spend) and once more at
-- its end, through record_agent: fenced like every write of a worker, for a run it holds.
alter table ops.runs add column agent jsonb check (agent is null or jsonb_typeof(agent) = 'object');
comment on column ops.runs.agent is
  'A coding-agent run''s conversation as the worker read it from the CLI''s stream: domain/agent.ts RunAgent.';

create function ops.record_agent(p_run_id uuid, p_worker_id text, p_token text, p_attempt integer, p_agent jsonb)
returns void language plpgsql security definer set search_path = '' as $$
declare
  v_session uuid;
begin
  perform ops._check_worker(p_worker_id, p_token);
  perform ops._check_held(p_run_id, p_worker_id, p_attempt);
  if p_agent is null or jsonb_typeof(p_agent) <> 'object' then
    perform ops._raise('OC003', 'agent: expected a JSON object (the agent''s session, tokens and cost)');
  end if;
  if pg_catalog.octet_length(p_agent::text) > 65536 then
    perform ops._raise('OC003', 'agent: at most 64 KB (shorten its last message)');
  end if;
  update ops.runs set agent = p_agent, updated_at = pg_catalog.now() where id = p_run_id returning session_id into v_session;
  perform ops._notify_runs(array[v_session]);
end $$;

revoke all on function ops.record_agent(uuid, text, text, integer, jsonb) from public;
grant execute on function ops.record_agent(uuid, text, text, integer, jsonb) to ocr_worker;
