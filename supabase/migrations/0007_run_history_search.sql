-- Run history search: a piece of an intent, in any case, found through a trigram index instead of reading every run.
-- pg_trgm is a contrib extension that ships with PostgreSQL (and is trusted: a database owner may add it). It goes in a
-- schema of its own, `extensions` (as on Supabase), so that the ops schema keeps only the queue's guarded functions.
-- Where it is installed already, its own schema's operator class is used; where it cannot be added, search still
-- works, only by reading the runs.
do $$
declare
  v_schema text := (select n.nspname from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
                     where e.extname = 'pg_trgm');
begin
  if v_schema is null and exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_trgm') then
    begin
      create schema if not exists extensions;
      create extension pg_trgm schema extensions;
      v_schema := 'extensions';
    exception when insufficient_privilege then
      raise notice 'pg_trgm cannot be added by %: run history search reads every run', current_user;
    end;
  end if;
  if v_schema is not null then
    execute pg_catalog.format('create index runs_intent_search on ops.runs using gin (intent %I.gin_trgm_ops)', v_schema);
  end if;
end $$;
