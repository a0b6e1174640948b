-- Team access: who may do what when the queue lives on a Supabase project and people reach it signed in as
-- themselves (role `authenticated`, their id in the request's JWT claims, as PostgREST and the edge runtime set them),
-- and workers reach it through the API holding only a worker token.
--
-- The membership model: a team (ops.teams) has members (ops.team_members: a Supabase user's id and a role):
--
--   owner   everything a member may, and manages the team's members and worker tokens;
--   member  reads the team's sessions, runs, steps, log lines, artifacts, lane ports, runbook versions and workers;
--           creates sessions and runs in the team, queues comparisons, publishes runbooks, cancels, retries, approves,
--           rejects and archives;
--   viewer  reads what a member reads, and changes nothing.
--
-- A session belongs to one team (ops.sessions.team_id) or to none: sessions created by database login roles (the
-- embedded database, a team's own PostgreSQL with ocr_client / ocr_worker roles) have no team and work as before. A user
-- never reads or changes anything of a team they are not in; `anon` gets nothing; `service_role` everything.
--
-- How a function knows its caller: it runs as the schema's owner (SECURITY DEFINER), so current_user says nothing, and
-- the session's login role is the API's (authenticator, or whatever role the edge function connects as, possibly the
-- schema's owner itself). What the API sets is the role: `set local role authenticated` (or set_config('role', …)),
-- which only a member of that role can do and which a SECURITY DEFINER function does not change. So the role setting
-- decides first: authenticated → a user, checked by team membership of auth.uid(); service_role → may do everything;
-- anon → nothing. Without one of those roles set, the checks are those of 0003 (the session's login role, or the
-- schema's owner).
--
-- Worker tokens (ops.worker_tokens) are for workers that reach the database only through the API: `ocrw_` and 64 hex
-- digits, shown once, stored as their SHA-256. A token is for one team (or, made by the database's owner, for the
-- sessions of no team), optionally narrowed to some of its sessions. A worker registers through the API with its token
-- (register_token_worker): its row is bound to the token, it claims only runs of the token's sessions, and every later
-- call of it (heartbeat, claim, log lines, artifacts, finish) is refused once the token is revoked.
--
-- Plain PostgreSQL and Supabase alike: what only exists on Supabase (the API roles, the auth schema) is granted and
-- given policies in one block at the end that runs only when the database has the roles and auth.uid(). The functions
-- call auth.uid() only when the caller's role is authenticated, and PL/pgSQL resolves it then, so nothing here needs the
-- auth schema to exist. It is not created where it is missing: roles belong to the whole server and need CREATEROLE,
-- and an imitation of Supabase's auth schema in someone's database would be mistaken for the real one. The
-- supabase_realtime publication is left alone: the API streams log lines itself.

-- Teams and members ---------------------------------------------------------------------------------------------------

create table ops.teams (
  id         uuid primary key default gen_random_uuid(),
  name       text not null check (length(btrim(name)) between 1 and 100),
  -- the user who created it; null when the database's owner did
  created_by uuid,
  created_at timestamptz not null default now()
);
comment on table ops.teams is 'A team of Supabase users sharing sessions; see ops.team_members for who may do what.';

create table ops.team_members (
  team_id  uuid not null references ops.teams (id) on delete cascade,
  -- a Supabase user's id (auth.users.id; a foreign key to it where that table exists)
  user_id  uuid not null,
  role     text not null check (role in ('owner', 'member', 'viewer')),
  added_by text,
  added_at timestamptz not null default now(),
  primary key (team_id, user_id)
);
create index team_members_user on ops.team_members (user_id, team_id);
comment on table ops.team_members is
  'owner: manages members and worker tokens, and may do what a member may; member: reads and acts on the team''s sessions; viewer: reads them';

alter table ops.sessions add column team_id uuid references ops.teams (id);
alter table ops.sessions add column created_by_user uuid;
create index sessions_team on ops.sessions (team_id) where team_id is not null;
comment on column ops.sessions.team_id is 'the team whose members may read and act on the session; null for sessions of database login roles';
comment on column ops.sessions.created_by_user is 'the Supabase user who created the session (auth.uid()), if a user did';

-- Runbook versions belong to the team whose sessions run them (none for those of login roles).
alter table ops.templates add column team_id uuid references ops.teams (id);
alter table ops.templates drop constraint templates_name_version_key;
alter table ops.templates drop constraint templates_name_sha256_key;
create unique index templates_team_name_version
  on ops.templates (coalesce(team_id, '00000000-0000-0000-0000-000000000000'::uuid), name, version);
create unique index templates_team_name_sha256
  on ops.templates (coalesce(team_id, '00000000-0000-0000-0000-000000000000'::uuid), name, sha256);

-- Worker tokens ---------------------------------------------------------------------------------------------------------

create table ops.worker_tokens (
  id           uuid primary key default gen_random_uuid(),
  -- null: a token of the database's owner, for the sessions of no team
  team_id      uuid references ops.teams (id) on delete cascade,
  name         text not null check (length(btrim(name)) between 1 and 100),
  token_hash   text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  -- null: every session of the team
  sessions     uuid[] check (sessions is null or cardinality(sessions) between 1 and 1000),
  created_by   text not null,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);
create index worker_tokens_team on ops.worker_tokens (team_id);
comment on table ops.worker_tokens is
  'Tokens of workers that reach the queue through the API; token_hash is the SHA-256 (hex) of the token, never readable by users';
comment on column ops.worker_tokens.last_used_at is 'when the API last accepted the token, to the minute';

alter table ops.workers add column worker_token_id uuid references ops.worker_tokens (id);
alter table ops.workers add column team_id uuid references ops.teams (id);
comment on column ops.workers.worker_token_id is 'the worker token it registered with through the API; it serves only that token''s sessions';

-- Who is calling --------------------------------------------------------------------------------------------------------

-- Whether the caller may do anything: role service_role; or, with no API role set, a superuser or a member of the role
-- that owns the schema. A user (authenticated) or anon never, whichever login role the API connected as.
create or replace function ops._is_admin() returns boolean
language sql stable set search_path = '' as $$
  select case coalesce(pg_catalog.current_setting('role', true), 'none')
           when 'service_role' then true
           when 'authenticated' then false
           when 'anon' then false
           else coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user), false)
             or pg_catalog.pg_has_role(session_user, (select n.nspowner from pg_catalog.pg_namespace n where n.nspname = 'ops'), 'MEMBER')
         end;
$$;

-- The signed-in Supabase user calling (role authenticated), or null for any other caller.
create function ops._user_id() returns uuid
language plpgsql stable set search_path = '' as $$
begin
  if coalesce(pg_catalog.current_setting('role', true), 'none') <> 'authenticated' then
    return null;
  end if;
  return auth.uid();
end $$;

-- Who the caller is, in words, for what it decided or created: a user's email (else id), or the login role.
create function ops._caller_name() returns text
language plpgsql stable set search_path = '' as $$
begin
  case coalesce(pg_catalog.current_setting('role', true), 'none')
    when 'authenticated' then
      return coalesce(nullif(auth.jwt() ->> 'email', ''), auth.uid()::text, 'authenticated');
    when 'service_role' then
      return 'service_role';
    else
      return session_user::text;
  end case;
end $$;

-- The calling user's role in a team (owner, member, viewer), or null: not a member, or not a user.
create function ops._team_role(p_team_id uuid) returns text
language sql stable set search_path = '' as $$
  select m.role from ops.team_members m where m.team_id = p_team_id and m.user_id = ops._user_id();
$$;

-- The teams the signed-in user is in (with one of p_roles, any role when null); none for any other caller.
create function ops.my_team_ids(p_roles text[] default null) returns uuid[]
language plpgsql stable security definer set search_path = '' as $$
begin
  return coalesce((select array_agg(m.team_id order by m.team_id) from ops.team_members m
                    where m.user_id = ops._user_id() and (p_roles is null or m.role = any (p_roles))), '{}');
end $$;

-- Raises unless the caller may change what belongs to a session of this team and login role: a member or owner of its
-- team (a user); its login role, for a session of no team; the schema's owner or service_role, any. What the caller
-- may not read is reported as missing (it learns nothing); a viewer is told it may only read.
create function ops._check_access(p_found boolean, p_team_id uuid, p_owner name, p_what text, p_hint text) returns void
language plpgsql set search_path = '' as $$
declare
  v_role text;
begin
  if p_found then
    if coalesce(pg_catalog.current_setting('role', true), 'none') = 'authenticated' then
      v_role := ops._team_role(p_team_id);
      if v_role in ('owner', 'member') then
        return;
      elsif v_role = 'viewer' then
        perform ops._raise('OC005', format('%s: you are a viewer of its team, and a viewer may only read', p_what),
                           'ask an owner of the team to make you a member');
      end if;
    elsif (p_team_id is null and p_owner = session_user) or ops._is_admin() then
      return;
    end if;
  end if;
  perform ops._raise('OC002', format('%s does not exist', p_what), p_hint);
end $$;

create or replace function ops._check_session(p_session_id uuid) returns void
language plpgsql set search_path = '' as $$
declare
  s record;
begin
  select x.team_id, x.owner into s from ops.sessions x where x.id = p_session_id;
  perform ops._check_access(found, s.team_id, s.owner, format('session %s', p_session_id), 'list sessions with `ocr session list`');
end $$;

create or replace function ops._check_run(p_run_id uuid) returns void
language plpgsql set search_path = '' as $$
declare
  s record;
begin
  select x.team_id, x.owner into s from ops.runs r join ops.sessions x on x.id = r.session_id where r.id = p_run_id;
  perform ops._check_access(found, s.team_id, s.owner, format('run %s', p_run_id), 'list runs with `ocr status`');
end $$;

-- The team a new session (or runbook version) of the caller goes to. A user names a team they may act in, or none when
-- they are a member or owner of exactly one; anyone else gets a session of no team unless the schema's owner (or
-- service_role) names a team.
create function ops._new_team(p_team_id uuid) returns uuid
language plpgsql set search_path = '' as $$
declare
  v_teams uuid[];
  v_role text;
begin
  if coalesce(pg_catalog.current_setting('role', true), 'none') = 'authenticated' then
    if p_team_id is null then
      v_teams := ops.my_team_ids(array['owner', 'member']);
      if cardinality(v_teams) = 1 then
        return v_teams[1];
      elsif cardinality(v_teams) = 0 then
        perform ops._raise('OC005', 'team: you are not a member of any team, and only members create sessions',
                           'ask an owner of your team to add you as a member');
      end if;
      perform ops._raise('OC003', format('team: you are a member of %s teams; say which one', cardinality(v_teams)),
                         'give the team''s id');
    end if;
    v_role := ops._team_role(p_team_id);
    if v_role in ('owner', 'member') then
      return p_team_id;
    elsif v_role = 'viewer' then
      perform ops._raise('OC005', format('team %s: you are a viewer of it, and a viewer may only read', p_team_id),
                         'ask an owner of the team to make you a member');
    end if;
    perform ops._raise('OC002', format('team %s does not exist', p_team_id));
  end if;
  if p_team_id is null then
    return null;
  end if;
  if not ops._is_admin() or not exists (select 1 from ops.teams t where t.id = p_team_id) then
    perform ops._raise('OC002', format('team %s does not exist', p_team_id));
  end if;
  return p_team_id;
end $$;

-- Raises unless the caller manages this team: one of its owners, or the schema's owner / service_role (who may also
-- name no team: the sessions of no team).
create function ops._check_team_owner(p_team_id uuid) returns void
language plpgsql set search_path = '' as $$
declare
  v_role text;
begin
  if coalesce(pg_catalog.current_setting('role', true), 'none') = 'authenticated' then
    if p_team_id is null then
      perform ops._raise('OC003', 'team: name the team', 'give the team''s id');
    end if;
    v_role := ops._team_role(p_team_id);
    if v_role = 'owner' then
      return;
    elsif v_role is not null then
      perform ops._raise('OC005', format('team %s: only its owners manage its members and worker tokens', p_team_id),
                         'ask an owner of the team');
    end if;
    perform ops._raise('OC002', format('team %s does not exist', p_team_id));
  end if;
  if not ops._is_admin() then
    perform ops._raise('OC005', 'only the database''s owner or a team''s owner manages teams and worker tokens',
                       'connect as the role that owns the database');
  end if;
  if p_team_id is not null and not exists (select 1 from ops.teams t where t.id = p_team_id) then
    perform ops._raise('OC002', format('team %s does not exist', p_team_id), 'list teams with `ocr team list`');
  end if;
end $$;

-- Teams -------------------------------------------------------------------------------------------------------------

-- A user who creates a team is its first owner; the database's owner creates one without members (add an owner next).
create function ops.create_team(p_name text) returns ops.teams
language plpgsql security definer set search_path = '' as $$
declare
  t ops.teams;
  v_user uuid := ops._user_id();
begin
  if coalesce(pg_catalog.current_setting('role', true), 'none') = 'authenticated' then
    if v_user is null then
      perform ops._raise('OC005', 'team: the request names no user', 'sign in again');
    end if;
  elsif not ops._is_admin() then
    perform ops._raise('OC005', 'only a signed-in user or the database''s owner creates teams');
  end if;
  if p_name is null or length(btrim(p_name)) = 0 or length(btrim(p_name)) > 100 then
    perform ops._raise('OC003', 'name: a team needs a name of 1 to 100 characters', 'such as "platform"');
  end if;
  insert into ops.teams (name, created_by) values (btrim(p_name), v_user) returning * into t;
  if v_user is not null then
    insert into ops.team_members (team_id, user_id, role, added_by) values (t.id, v_user, 'owner', ops._caller_name());
  end if;
  return t;
end $$;

-- Adds a user to a team, or gives a member another role. A team keeps at least one owner.
create function ops.add_team_member(p_team_id uuid, p_user_id uuid, p_role text default 'member') returns ops.team_members
language plpgsql security definer set search_path = '' as $$
declare
  m ops.team_members;
  v_known boolean;
begin
  perform ops._check_team_owner(p_team_id);
  if p_team_id is null then
    perform ops._raise('OC003', 'team: name the team', 'give the team''s id');
  end if;
  if p_role is null or p_role not in ('owner', 'member', 'viewer') then
    perform ops._raise('OC003', format('role: %L is not a team role', p_role), 'use owner, member or viewer');
  end if;
  if p_user_id is null then
    perform ops._raise('OC003', 'user: give the user''s id');
  end if;
  if pg_catalog.to_regclass('auth.users') is not null then
    begin
      execute 'select exists (select 1 from auth.users u where u.id = $1)' into v_known using p_user_id;
    exception when insufficient_privilege then
      v_known := true; -- the schema's owner may not read the project's users: the user is taken as given
    end;
    if not v_known then
      perform ops._raise('OC002', format('user %s is not a user of this project', p_user_id),
                         'the user signs up first; their id is in Authentication → Users');
    end if;
  end if;
  perform 1 from ops.teams where id = p_team_id for update;
  if p_role <> 'owner' and exists (select 1 from ops.team_members x where x.team_id = p_team_id and x.user_id = p_user_id and x.role = 'owner')
     and not exists (select 1 from ops.team_members x where x.team_id = p_team_id and x.role = 'owner' and x.user_id <> p_user_id) then
    perform ops._raise('OC004', format('team %s: user %s is its last owner', p_team_id, p_user_id), 'make another member owner first');
  end if;
  insert into ops.team_members as x (team_id, user_id, role, added_by)
  values (p_team_id, p_user_id, p_role, ops._caller_name())
  on conflict (team_id, user_id) do update set role = excluded.role
  returning * into m;
  return m;
end $$;

-- Takes a user out of a team (an owner may take anyone out; a user may leave). A team keeps at least one owner.
create function ops.remove_team_member(p_team_id uuid, p_user_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
  if p_user_id is null or p_user_id is distinct from ops._user_id() or ops._team_role(p_team_id) is null then
    perform ops._check_team_owner(p_team_id);
  end if;
  perform 1 from ops.teams where id = p_team_id for update;
  if exists (select 1 from ops.team_members x where x.team_id = p_team_id and x.user_id = p_user_id and x.role = 'owner')
     and not exists (select 1 from ops.team_members x where x.team_id = p_team_id and x.role = 'owner' and x.user_id <> p_user_id) then
    perform ops._raise('OC004', format('team %s: user %s is its last owner', p_team_id, p_user_id), 'make another member owner first');
  end if;
  delete from ops.team_members where team_id = p_team_id and user_id = p_user_id;
  if not found then
    perform ops._raise('OC002', format('user %s is not a member of team %s', p_user_id, p_team_id));
  end if;
end $$;

-- The user's side: sessions in a team ----------------------------------------------------------------------------------

drop function ops.create_session(text, text, text[], text, text, text, text, text);
create function ops.create_session(
  p_title text,
  p_intent text default '',
  p_lanes text[] default array['A', 'B', 'C', 'D'],
  p_repo_id text default null,
  p_repo_url text default null,
  p_repo_path text default null,
  p_base_ref text default null,
  p_created_by text default null,
  p_team_id uuid default null
) returns ops.sessions
language plpgsql security definer set search_path = '' as $$
declare
  s ops.sessions;
  bad text;
  v_team uuid;
  v_user uuid := ops._user_id();
begin
  if p_title is null or length(btrim(p_title)) = 0 then
    perform ops._raise('OC003', 'title: a session needs a title', 'give a short title, such as "Fix flaky tests"');
  end if;
  if length(btrim(p_title)) > 200 then
    perform ops._raise('OC003', 'title: at most 200 characters', 'shorten the title; put details in the intent');
  end if;
  if p_lanes is null or cardinality(p_lanes) = 0 or cardinality(p_lanes) > 26 then
    perform ops._raise('OC003', 'lanes: a session needs between 1 and 26 lanes', 'use lanes such as A,B,C,D');
  end if;
  select x into bad from unnest(p_lanes) x where x is null or x !~ '^[A-Za-z0-9_-]{1,16}$' limit 1;
  if found then
    perform ops._raise('OC003', format('lanes: %L is not a valid lane name', bad),
                       'a lane name is 1 to 16 letters, digits, "-" or "_"');
  end if;
  if (select count(distinct x) from unnest(p_lanes) x) <> cardinality(p_lanes) then
    perform ops._raise('OC003', 'lanes: a lane is listed twice', 'list each lane once');
  end if;
  v_team := ops._new_team(p_team_id);
  insert into ops.sessions (title, intent, lanes, repo_id, repo_url, repo_path, base_ref, created_by, team_id, created_by_user)
  values (btrim(p_title), coalesce(p_intent, ''), p_lanes, p_repo_id, p_repo_url, p_repo_path, p_base_ref,
          -- a user is named by their sign-in, not by what the request says
          case when v_user is null then p_created_by else ops._caller_name() end, v_team, v_user)
  returning * into s;
  return s;
end $$;

-- A runbook run must point at a published version of its session's team (of no team for a session of no team).
create or replace function ops.create_runs(p_runs jsonb) returns setof ops.runs
language plpgsql security definer set search_path = '' as $$
declare
  v_session uuid;
  v_missing text;
begin
  if p_runs is not null and jsonb_typeof(p_runs) = 'array' and not ops._is_admin() then
    for v_session in select distinct (e ->> 'session_id')::uuid from jsonb_array_elements(p_runs) e
                      where e ->> 'session_id' is not null loop
      perform ops._check_session(v_session);
    end loop;
  end if;
  if p_runs is not null and jsonb_typeof(p_runs) = 'array' then
    select coalesce(e -> 'spec' ->> 'template_id', '(none)') into v_missing
      from jsonb_array_elements(p_runs) e
     where e ->> 'executor' = 'runbook'
       and not exists (select 1 from ops.templates t
                        where t.id::text = e -> 'spec' ->> 'template_id'
                          and t.team_id is not distinct from (select s.team_id from ops.sessions s
                                                                where s.id::text = e ->> 'session_id'))
     limit 1;
    if found then
      perform ops._raise('OC003', format('spec.template_id: %s is not a published runbook version', v_missing),
                         'queue a runbook run with `ocr runbook run` or Run Runbook…, which publish its file first');
    end if;
  end if;
  return query select * from ops._create_runs(p_runs);
end $$;

-- Publishes a runbook: the same text is the version already published; new text is the next version. Versions are
-- counted per team: a user publishes into a team they may act in (their one team when they name none).
drop function ops.publish_template(text, text, text, jsonb, text);
create function ops.publish_template(p_name text, p_text text, p_sha256 text, p_runbook jsonb, p_source text default null,
                                     p_team_id uuid default null)
returns ops.templates
language plpgsql security definer set search_path = '' as $$
declare
  t ops.templates;
  v_team uuid;
begin
  if p_runbook is null or jsonb_typeof(p_runbook) <> 'object' or p_runbook ->> 'name' is distinct from p_name then
    perform ops._raise('OC003', 'runbook: expected the parsed runbook, with the same name');
  end if;
  v_team := ops._new_team(p_team_id);
  perform pg_advisory_xact_lock(hashtext('ops.templates:' || case when v_team is null then '' else v_team::text || ':' end || p_name));
  select * into t from ops.templates where name = p_name and sha256 = p_sha256 and team_id is not distinct from v_team;
  if found then
    return t;
  end if;
  insert into ops.templates (name, version, sha256, title, kind, source, text, runbook, team_id)
  values (p_name, coalesce((select max(version) from ops.templates where name = p_name and team_id is not distinct from v_team), 0) + 1,
          p_sha256, coalesce(p_runbook ->> 'title', p_name), coalesce(p_runbook ->> 'kind', 'custom'), p_source, p_text,
          p_runbook, v_team)
  returning * into t;
  return t;
end $$;

-- Approvers a runbook names are login roles or, for users, their email or id.
create or replace function ops._decide(p_run_id uuid, p_approve boolean, p_reason text) returns ops.runs
language plpgsql set search_path = '' as $$
declare
  r ops.runs;
  v_approvers jsonb;
  v_me text := ops._caller_name();
begin
  select * into r from ops.runs where id = p_run_id;
  if not found then
    perform ops._raise('OC002', format('run %s does not exist', p_run_id), 'list runs with `ocr status`');
  end if;
  perform 1 from ops.lanes where session_id = r.session_id and lane = r.lane for update;
  select * into r from ops.runs where id = p_run_id for update;
  if r.status <> 'waiting' then
    perform ops._raise('OC004',
      format('run %s is %s, not waiting for an approval%s', p_run_id, r.status,
             case when r.approval ->> 'decision' is not null
                  then format(' (it was %s by %s)', r.approval ->> 'decision', r.approval ->> 'decided_by') else '' end),
      'only a run parked at an approval step can be approved or rejected');
  end if;
  v_approvers := coalesce(r.approval -> 'approvers', '[]'::jsonb);
  if jsonb_array_length(v_approvers) > 0 and not (v_approvers ?| array[v_me, coalesce(ops._user_id()::text, v_me)])
     and not ops._is_admin() then
    perform ops._raise('OC005', format('%s is not among the approvers of run %s (%s)', v_me, p_run_id,
                                       (select string_agg(a, ', ') from jsonb_array_elements_text(v_approvers) a)));
  end if;
  if p_approve then
    update ops.runs
       set status = 'queued', max_attempts = max_attempts + 1, updated_at = clock_timestamp(), run_after = null,
           approval = approval || jsonb_build_object('decision', 'approved', 'decided_by', v_me,
                                                     'decided_at', clock_timestamp(), 'reason', p_reason)
     where id = p_run_id
    returning * into r;
    update ops.run_steps set status = 'succeeded', finished_at = clock_timestamp()
     where run_id = p_run_id and idx = (r.approval ->> 'step')::integer;
    -- the lane's head: this run, before anything queued after it
    update ops.lanes l set head_run_id = r.id, head_priority = r.priority, head_seq = r.seq
     where l.session_id = r.session_id and l.lane = r.lane
       and (l.head_run_id is null or (r.priority, r.seq) < (l.head_priority, l.head_seq));
    perform ops._notify_runs(array[r.session_id], true);
  else
    update ops.runs
       set status = 'canceled', finished_at = clock_timestamp(), updated_at = clock_timestamp(),
           error = 'rejected' || coalesce(': ' || nullif(btrim(p_reason), ''), ''),
           approval = approval || jsonb_build_object('decision', 'rejected', 'decided_by', v_me,
                                                     'decided_at', clock_timestamp(), 'reason', p_reason)
     where id = p_run_id
    returning * into r;
    update ops.run_steps set status = 'canceled', finished_at = clock_timestamp()
     where run_id = p_run_id and idx = (r.approval ->> 'step')::integer;
    update ops.run_steps set status = 'skipped' where run_id = p_run_id and status = 'queued';
    perform ops._refresh_lane_head(r.session_id, r.lane);
    perform ops._notify_runs(array[r.session_id], true);
  end if;
  return r;
end $$;

-- Worker tokens ---------------------------------------------------------------------------------------------------------

-- A new token for a team's workers (p_sessions: only those of its sessions; null: all of them). Answers the token once;
-- the database keeps its SHA-256 only.
create function ops.create_worker_token(p_team_id uuid, p_name text, p_sessions uuid[] default null)
returns table (id uuid, token text)
language plpgsql security definer set search_path = '' as $$
declare
  -- 244 random bits from gen_random_uuid (the server's strong random source; pgcrypto is not needed)
  v_token text := 'ocrw_' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
  v_sessions uuid[];
  v_bad uuid;
  v_id uuid;
begin
  perform ops._check_team_owner(p_team_id);
  if p_name is null or length(btrim(p_name)) = 0 or length(btrim(p_name)) > 100 then
    perform ops._raise('OC003', 'name: a worker token needs a name of 1 to 100 characters', 'name it after its machine, such as "build-box-1"');
  end if;
  if p_sessions is not null then
    v_sessions := array(select distinct x from unnest(p_sessions) x where x is not null order by x);
    if cardinality(v_sessions) = 0 or cardinality(v_sessions) > 1000 then
      perform ops._raise('OC003', 'sessions: give 1 to 1000 sessions, or none for every session of the team');
    end if;
    select x into v_bad from unnest(v_sessions) x
     where not exists (select 1 from ops.sessions s where s.id = x and s.team_id is not distinct from p_team_id)
     limit 1;
    if found then
      perform ops._raise('OC002', format('sessions: %s is not a session of %s', v_bad,
                                         coalesce('team ' || p_team_id::text, 'no team (the database''s own sessions)')),
                         'list sessions with `ocr session list`');
    end if;
  end if;
  insert into ops.worker_tokens (team_id, name, token_hash, sessions, created_by)
  values (p_team_id, btrim(p_name), encode(sha256(convert_to(v_token, 'UTF8')), 'hex'), v_sessions, ops._caller_name())
  returning worker_tokens.id into v_id;
  return query select v_id, v_token;
end $$;

-- The worker tokens of a team (null: of every team the caller owns; for the database's owner, every token), newest
-- first, without their hashes.
create function ops.list_worker_tokens(p_team_id uuid default null)
returns table (id uuid, team_id uuid, name text, sessions uuid[], created_by text, created_at timestamptz,
               revoked_at timestamptz, last_used_at timestamptz)
language plpgsql stable security definer set search_path = '' as $$
declare
  v_teams uuid[];
begin
  if p_team_id is not null then
    perform ops._check_team_owner(p_team_id);
  elsif coalesce(pg_catalog.current_setting('role', true), 'none') = 'authenticated' then
    v_teams := ops.my_team_ids(array['owner']);
  elsif not ops._is_admin() then
    perform ops._check_team_owner(null);
  end if;
  return query
    select t.id, t.team_id, t.name, t.sessions, t.created_by, t.created_at, t.revoked_at, t.last_used_at
      from ops.worker_tokens t
     where case when p_team_id is not null then t.team_id = p_team_id
                when v_teams is not null then t.team_id = any (v_teams)
                else true end
     order by t.created_at desc, t.id;
end $$;

-- Revokes a token: every later call of a worker registered with it is refused. Revoking twice changes nothing.
create function ops.revoke_worker_token(p_id uuid)
returns table (id uuid, team_id uuid, name text, sessions uuid[], created_by text, created_at timestamptz,
               revoked_at timestamptz, last_used_at timestamptz)
language plpgsql security definer set search_path = '' as $$
declare
  v_team uuid;
begin
  select t.team_id into v_team from ops.worker_tokens t where t.id = p_id;
  if not found or (coalesce(pg_catalog.current_setting('role', true), 'none') = 'authenticated'
                   and ops._team_role(v_team) is null) then
    perform ops._raise('OC002', format('worker token %s does not exist', p_id), 'list tokens with `ocr token list`');
  end if;
  perform ops._check_team_owner(v_team);
  return query
    update ops.worker_tokens t set revoked_at = coalesce(t.revoked_at, now()) where t.id = p_id
    returning t.id, t.team_id, t.name, t.sessions, t.created_by, t.created_at, t.revoked_at, t.last_used_at;
end $$;

-- For the API: what a token is for, or not_authorized for a token that is unknown or revoked. Records its use.
create function ops.worker_token_identity(p_token text)
returns table (token_id uuid, team_id uuid, name text, sessions uuid[])
language plpgsql security definer set search_path = '' as $$
declare
  k ops.worker_tokens;
begin
  select * into k from ops.worker_tokens t
   where t.token_hash = encode(sha256(convert_to(coalesce(p_token, ''), 'UTF8')), 'hex') and t.revoked_at is null;
  if not found then
    perform ops._raise('OC005', 'worker token: unknown or revoked',
                       'create a token with `ocr token create --name NAME` and give it to the worker (OCR_WORKER_TOKEN)');
  end if;
  if k.last_used_at is null or k.last_used_at < now() - interval '1 minute' then
    update ops.worker_tokens t set last_used_at = now() where t.id = k.id;
  end if;
  return query select k.id, k.team_id, k.name, k.sessions;
end $$;

-- For the API: registers a worker that holds a worker token, as register_worker does for a login role, and binds it to
-- the token. A worker id already registered by a worker of another team, or by a login role, is refused.
create function ops.register_token_worker(
  p_worker_token text,
  p_worker_id text,
  p_host text,
  p_pid integer,
  p_concurrency integer,
  p_labels jsonb default '{}'::jsonb,
  p_version text default null
) returns text
language plpgsql security definer set search_path = '' as $$
declare
  k record;
  v_token text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
begin
  select * into k from ops.worker_token_identity(p_worker_token);
  if p_worker_id is null or length(p_worker_id) = 0 or length(p_worker_id) > 200 then
    perform ops._raise('OC003', 'worker id: must be 1 to 200 characters');
  end if;
  if p_concurrency is null or p_concurrency < 1 then
    perform ops._raise('OC003', 'concurrency: must be at least 1');
  end if;
  insert into ops.workers as x (id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat,
                                token_hash, registered_by, worker_token_id, team_id)
  values (p_worker_id, p_host, p_pid, p_concurrency, coalesce(p_labels, '{}'::jsonb), p_version, 'running', now(), now(),
          sha256(convert_to(v_token, 'UTF8')), session_user, k.token_id, k.team_id)
  on conflict (id) do update
     set host = excluded.host, pid = excluded.pid, concurrency = excluded.concurrency, labels = excluded.labels,
         version = excluded.version, state = 'running', started_at = now(), last_heartbeat = now(),
         token_hash = excluded.token_hash, registered_by = excluded.registered_by,
         worker_token_id = excluded.worker_token_id, team_id = excluded.team_id
   where x.worker_token_id is not null and x.team_id is not distinct from excluded.team_id;
  if not found then
    perform ops._raise('OC005', format('worker id %s belongs to a worker of another team or login role', p_worker_id),
                       'give this worker another id');
  end if;
  return v_token;
end $$;

-- A login role's worker registering under an id takes it over from a token's worker only as the schema's owner; the
-- row is then a login role's again (no token, no team).
create or replace function ops.register_worker(
  p_worker_id text,
  p_host text,
  p_pid integer,
  p_concurrency integer,
  p_labels jsonb default '{}'::jsonb,
  p_version text default null
) returns text
language plpgsql security definer set search_path = '' as $$
declare
  v_token text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
begin
  if p_worker_id is null or length(p_worker_id) = 0 or length(p_worker_id) > 200 then
    perform ops._raise('OC003', 'worker id: must be 1 to 200 characters');
  end if;
  if p_concurrency is null or p_concurrency < 1 then
    perform ops._raise('OC003', 'concurrency: must be at least 1');
  end if;
  insert into ops.workers as x (id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat,
                                token_hash, registered_by)
  values (p_worker_id, p_host, p_pid, p_concurrency, coalesce(p_labels, '{}'::jsonb), p_version, 'running', now(), now(),
          sha256(convert_to(v_token, 'UTF8')), session_user)
  on conflict (id) do update
     set host = excluded.host, pid = excluded.pid, concurrency = excluded.concurrency, labels = excluded.labels,
         version = excluded.version, state = 'running', started_at = now(), last_heartbeat = now(),
         token_hash = excluded.token_hash, registered_by = excluded.registered_by, worker_token_id = null, team_id = null
   where (x.worker_token_id is null and (x.registered_by is null or x.registered_by = session_user)) or ops._is_admin();
  if not found then
    perform ops._raise('OC005', format('worker id %s belongs to another login role', p_worker_id), 'give this worker another id');
  end if;
  return v_token;
end $$;

-- Raises OC005 unless the caller is the worker it names (its token, from the login role that registered it), and,
-- for a worker registered with a worker token, that token is not revoked.
create or replace function ops._check_worker(p_worker_id text, p_token text) returns void
language plpgsql set search_path = '' as $$
declare
  v_revoked timestamptz;
begin
  select k.revoked_at into v_revoked
    from ops.workers w left join ops.worker_tokens k on k.id = w.worker_token_id
   where w.id = p_worker_id and w.token_hash = sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
     and (w.registered_by = session_user or ops._is_admin());
  if not found then
    perform ops._raise('OC005', format('worker %s: not registered, or the token is not its token', p_worker_id),
                       'register the worker again (start it again)');
  end if;
  if v_revoked is not null then
    perform ops._raise('OC005', format('worker %s: its worker token was revoked', p_worker_id),
                       'create a new token with `ocr token create` and start the worker with it');
  end if;
end $$;

-- The sessions a worker may claim from: p_sessions as asked, narrowed for a worker registered with a worker token to
-- the active sessions of the token's team (of no team, for a token of the database's owner), and of its sessions if
-- it names some. An empty list: none.
create function ops._claimable_sessions(p_worker_id text, p_sessions uuid[]) returns uuid[]
language plpgsql stable set search_path = '' as $$
declare
  k record;
begin
  select t.team_id, t.sessions into k
    from ops.workers w join ops.worker_tokens t on t.id = w.worker_token_id where w.id = p_worker_id;
  if not found then
    return p_sessions;
  end if;
  if k.team_id is null then
    return array(select s.id from ops.sessions s
                  where s.team_id is null and s.status = 'active'
                    and (k.sessions is null or s.id = any (k.sessions)) and (p_sessions is null or s.id = any (p_sessions)));
  end if;
  return array(select s.id from ops.sessions s
                where s.team_id = k.team_id and s.status = 'active'
                  and (k.sessions is null or s.id = any (k.sessions)) and (p_sessions is null or s.id = any (p_sessions)));
end $$;

create or replace function ops.claim_runs(
  p_worker_id text,
  p_token text,
  p_max_runs integer,
  p_lanes text[] default null,
  p_sessions uuid[] default null,
  p_repo_ids text[] default null,
  p_lease_seconds integer default 30
) returns setof ops.runs
language plpgsql security definer set search_path = '' as $$
begin
  perform ops._check_worker(p_worker_id, p_token);
  p_sessions := ops._claimable_sessions(p_worker_id, p_sessions);
  return query select * from ops._claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
end $$;

create or replace function ops.finish_and_claim(
  p_worker_id text,
  p_token text,
  p_results jsonb,
  p_max_runs integer,
  p_lanes text[] default null,
  p_sessions uuid[] default null,
  p_repo_ids text[] default null,
  p_lease_seconds integer default 30
) returns setof ops.runs
language plpgsql security definer
set search_path = ''
set enable_seqscan = off
set enable_bitmapscan = off
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_ids uuid[];
  v_attempts integer[];
  v_statuses text[];
  v_codes integer[];
  v_errors text[];
  v_bad boolean;
  v_finished uuid[];
  v_sessions uuid[];
  v_lanes text[];
  v_refused uuid[];
begin
  perform ops._check_worker(p_worker_id, p_token);
  p_sessions := ops._claimable_sessions(p_worker_id, p_sessions);
  if p_results is not null and jsonb_typeof(p_results) <> 'array' then
    perform ops._raise('OC003', 'results: expected a JSON array of {run_id, attempt, status}');
  end if;
  if p_results is not null and jsonb_array_length(p_results) > 0 then
    -- one pass over the JSON
    select array_agg(i.run_id order by i.run_id), array_agg(i.attempt order by i.run_id),
           array_agg(i.status order by i.run_id), array_agg(i.exit_code order by i.run_id),
           array_agg(i.error order by i.run_id), bool_or(i.status is null or i.status not in ('succeeded', 'failed', 'canceled'))
      into v_ids, v_attempts, v_statuses, v_codes, v_errors, v_bad
      from jsonb_to_recordset(p_results) as i(run_id uuid, attempt integer, status text, exit_code integer, error text);
    if v_bad then
      perform ops._raise('OC003', 'status: every result needs a final status', 'use succeeded, failed or canceled');
    end if;
    -- The runs are locked in id order before they are written, as the heartbeat locks them: the update's join would
    -- lock them in the order of its plan, and a heartbeat of the same worker renewing the same runs then deadlocks.
    perform 1 from ops.runs r where r.id = any (v_ids) order by r.id for update;
    with finished as (
      update ops.runs r
         set status = u.status, exit_code = u.exit_code, error = u.error, finished_at = clock_timestamp(),
             lease_expires_at = null, updated_at = clock_timestamp()
        from unnest(v_ids, v_attempts, v_statuses, v_codes, v_errors) as u(run_id, attempt, status, exit_code, error)
       where r.id = any (v_ids) and r.id = u.run_id and r.claimed_by = p_worker_id and r.attempt = u.attempt
         and r.status = 'running'
      returning r.id, r.session_id, r.lane
    )
    select array_agg(f.id), array_agg(f.session_id), array_agg(f.lane) into v_finished, v_sessions, v_lanes from finished f;
    if v_finished is not null and ops._watched() then
      perform ops._notify_runs(array(select distinct s from unnest(v_sessions) s));
    end if;
    if cardinality(v_ids) > coalesce(cardinality(v_finished), 0) then
      select array_agg(i) into v_refused from unnest(v_ids) i
       where i is not null and not (i = any (coalesce(v_finished, '{}')));
    end if;
  end if;
  if v_refused is null then
    return query select * from ops._claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds);
  else
    return query
    with claimed as (
      select * from ops._claim_runs(p_worker_id, p_max_runs, p_lanes, p_sessions, p_repo_ids, p_lease_seconds)
    )
    select * from claimed
    union all
    select r.* from ops.runs r
     where r.id = any (v_refused) and not exists (select 1 from claimed c where c.id = r.id);
  end if;
  -- a lane freed here whose next run this worker did not take is for the others
  if v_sessions is not null and exists (
    select 1 from unnest(v_sessions, v_lanes) as d(session_id, lane)
      join ops.lanes l on l.session_id = d.session_id and l.lane = d.lane
     where l.head_run_id is not null
       and not exists (select 1 from ops.runs x
                        where x.session_id = l.session_id and x.lane = l.lane and x.status = 'running')) then
    perform pg_notify('ops_queue', '');
  end if;
end $$;

-- Login roles' clients: the sessions of no team their role created (a team's sessions are its members') ---------------

alter policy sessions_of_client on ops.sessions using (team_id is null and owner = session_user);
alter policy runs_of_client on ops.runs
  using (exists (select 1 from ops.sessions s where s.id = session_id and s.team_id is null and s.owner = session_user));
alter policy events_of_client on ops.run_events
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.team_id is null and s.owner = session_user));
alter policy artifacts_of_client on ops.artifacts
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.team_id is null and s.owner = session_user));
alter policy steps_of_client on ops.run_steps
  using (exists (select 1 from ops.runs r join ops.sessions s on s.id = r.session_id
                  where r.id = run_id and s.team_id is null and s.owner = session_user));
alter policy lane_ports_of_client on ops.lane_ports
  using (exists (select 1 from ops.sessions s where s.id = session_id and s.team_id is null and s.owner = session_user));
-- a worker serves every session and reads every runbook version; a login role's client those of no team
alter policy templates_listed on ops.templates to ocr_worker;
create policy templates_of_client on ops.templates for select to ocr_client using (team_id is null);

-- Privileges: login roles ---------------------------------------------------------------------------------------------

alter table ops.teams enable row level security;
alter table ops.team_members enable row level security;
alter table ops.worker_tokens enable row level security;
revoke all on ops.teams, ops.team_members, ops.worker_tokens from public;

do $$
declare
  f record;
begin
  for f in select p.oid::regprocedure as sig from pg_catalog.pg_proc p
             join pg_catalog.pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'ops' loop
    execute pg_catalog.format('revoke all on function %s from public', f.sig);
  end loop;
end $$;

grant execute on function
  ops.create_session(text, text, text[], text, text, text, text, text, uuid),
  ops.publish_template(text, text, text, jsonb, text, uuid)
  to ocr_client;

-- Privileges and row-level security: Supabase's API roles (only where they and auth.uid() exist) ---------------------

do $supabase$
declare
  f record;
begin
  if pg_catalog.to_regprocedure('auth.uid()') is null
     or (select count(*) from pg_catalog.pg_roles r where r.rolname in ('anon', 'authenticated', 'service_role')) < 3 then
    return;
  end if;

  -- anon: nothing, whatever defaults the project has
  revoke all on schema ops from anon;
  revoke all on all tables in schema ops from anon, authenticated;
  revoke all on all sequences in schema ops from anon, authenticated;
  for f in select p.oid::regprocedure as sig from pg_catalog.pg_proc p
             join pg_catalog.pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'ops' loop
    execute pg_catalog.format('revoke all on function %s from anon, authenticated', f.sig);
  end loop;
  -- service_role: everything, also what later migrations add
  grant usage on schema ops to authenticated, service_role;
  grant all on all tables in schema ops to service_role;
  grant all on all sequences in schema ops to service_role;
  grant execute on all functions in schema ops to service_role;
  alter default privileges in schema ops grant all on tables to service_role;
  alter default privileges in schema ops grant all on sequences to service_role;
  alter default privileges in schema ops grant execute on functions to service_role;

  -- authenticated: reads its teams' rows (the policies below), writes only through the functions
  grant select on ops.schema_migrations, ops.teams, ops.team_members, ops.sessions, ops.runs, ops.run_events,
                  ops.artifacts, ops.run_steps, ops.templates, ops.lane_ports to authenticated;
  grant select (id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat, team_id) on ops.workers
    to authenticated;
  grant select (id, team_id, name, sessions, created_by, created_at, revoked_at, last_used_at) on ops.worker_tokens
    to authenticated;
  grant execute on function
    ops.my_team_ids(text[]),
    ops.create_team(text),
    ops.add_team_member(uuid, uuid, text),
    ops.remove_team_member(uuid, uuid),
    ops.create_session(text, text, text[], text, text, text, text, text, uuid),
    ops.archive_session(uuid),
    ops.create_runs(jsonb),
    ops.create_run(uuid, text, text, text, jsonb, integer, integer),
    ops.create_group(jsonb),
    ops.cancel_run(uuid),
    ops.retry_run(uuid),
    ops.approve_run(uuid, text),
    ops.reject_run(uuid, text),
    ops.publish_template(text, text, text, jsonb, text, uuid),
    ops.create_worker_token(uuid, text, uuid[]),
    ops.list_worker_tokens(uuid),
    ops.revoke_worker_token(uuid)
    to authenticated;

  -- Policies as Supabase recommends them: for the role authenticated only, auth.uid() evaluated once per statement
  -- (`(select auth.uid())`), and the user's teams (and a team's sessions) as a list the row is looked up in rather than
  -- a join per row. Measured with 10,000 runs in a team, reading 5,000 log lines of one run: 13 ms this way, 24 ms
  -- when a log line was looked up in the list of the team's runs.
  create policy teams_of_user on ops.teams for select to authenticated
    using (id in (select m.team_id from ops.team_members m where m.user_id = (select auth.uid())));
  -- one's own memberships, and the other members of one's teams (read through a SECURITY DEFINER function: a policy
  -- of team_members that read team_members would recurse)
  create policy team_members_of_user on ops.team_members for select to authenticated
    using (user_id = (select auth.uid()) or team_id = any ((select ops.my_team_ids())::uuid[]));
  create policy sessions_of_user on ops.sessions for select to authenticated
    using (team_id in (select m.team_id from ops.team_members m where m.user_id = (select auth.uid())));
  create policy runs_of_user on ops.runs for select to authenticated
    using (session_id in (select s.id from ops.sessions s
                           where s.team_id in (select m.team_id from ops.team_members m where m.user_id = (select auth.uid()))));
  -- A team has many runs: a log line, an artifact or a step is checked against its one run (by primary key), whose
  -- own policy checks the run's session, rather than looked up in the list of all the team's runs.
  create policy events_of_user on ops.run_events for select to authenticated
    using (exists (select 1 from ops.runs r where r.id = run_events.run_id));
  create policy artifacts_of_user on ops.artifacts for select to authenticated
    using (exists (select 1 from ops.runs r where r.id = artifacts.run_id));
  create policy steps_of_user on ops.run_steps for select to authenticated
    using (exists (select 1 from ops.runs r where r.id = run_steps.run_id));
  create policy lane_ports_of_user on ops.lane_ports for select to authenticated
    using (session_id in (select s.id from ops.sessions s
                           where s.team_id in (select m.team_id from ops.team_members m where m.user_id = (select auth.uid()))));
  create policy templates_of_user on ops.templates for select to authenticated
    using (team_id in (select m.team_id from ops.team_members m where m.user_id = (select auth.uid())));
  create policy workers_of_user on ops.workers for select to authenticated
    using (team_id in (select m.team_id from ops.team_members m where m.user_id = (select auth.uid())));
  create policy worker_tokens_of_owner on ops.worker_tokens for select to authenticated
    using (team_id in (select m.team_id from ops.team_members m
                        where m.user_id = (select auth.uid()) and m.role = 'owner'));

  -- a member is a user of the project: gone with the user
  if pg_catalog.to_regclass('auth.users') is not null then
    begin
      alter table ops.team_members add constraint team_members_user_id_fkey
        foreign key (user_id) references auth.users (id) on delete cascade;
    exception when insufficient_privilege then
      raise notice 'ops.team_members.user_id is not tied to auth.users: % may not reference it', current_user;
    end;
  end if;
end $supabase$;
