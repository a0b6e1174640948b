-- Run history: every run across sessions, newest first or by duration or status, a page at a time (keyset paging:
-- each page starts after the last row of the one before, so page 1,000 costs what page 1 costs). Reading stays what it
-- was: a select on ops.runs under row-level security (a client sees the runs of its own sessions), so this adds only
-- the indexes those pages walk.

-- Newest first across every session: the queue's own strictly increasing number.
create index runs_newest on ops.runs (seq);
-- One or several statuses, newest first (failed and canceled runs are few among many succeeded ones).
create index runs_status_newest on ops.runs (status, seq);
-- Runbook runs by runbook name, newest first.
create index runs_runbook_newest on ops.runs ((spec ->> 'name'), seq) where executor = 'runbook';
-- Longest first: a run's duration once it has ended (runs that have not are listed after, newest first).
create index runs_longest on ops.runs ((finished_at - started_at), seq) where finished_at is not null and started_at is not null;
-- By status: the ones that need someone (running, waiting, queued) before failed, canceled and succeeded. The query
-- orders by this very expression.
create index runs_by_status on ops.runs ((case status when 'running' then 6 when 'waiting' then 5 when 'queued' then 4
  when 'failed' then 3 when 'canceled' then 2 else 1 end), seq);
