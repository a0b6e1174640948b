-- The table ocr records applied migrations in (worker/store/migrate.ts creates it before it applies any file). On its
-- own, as `supabase db push` applies these files, it must exist before 0003_least_privilege grants reading it; here it
-- does. Applied by ocr, this file changes nothing.
create schema if not exists ops;
create table if not exists ops.schema_migrations (
  name text primary key, checksum text not null, applied_at timestamptz not null default now());
