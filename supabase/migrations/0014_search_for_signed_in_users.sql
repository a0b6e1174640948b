-- Search every log for people signed in to a Supabase project: ops.search_logs already answers each caller with the
-- logs of the sessions they may read (a signed-in user: their teams'; 0013), so `authenticated` may call it, as the
-- ops-api function does for the editor's Search Run Logs…. Only where the role exists (a Supabase project).
do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    grant execute on function ops.search_logs(text, uuid, text, text[], timestamptz, timestamptz, integer, integer) to authenticated;
  end if;
end $$;
