-- Run history: every run across sessions, newest first or by duration or status, a page at a time (keyset paging:
-- each page starts after the last row of the one before). Reading stays what it was: a select on ops.runs under
-- row-level security (a client sees the runs of its own sessions).
--
-- Two indexes. Newest first by the queue's own increasing number: a page reads its 50 runs and stops, which matters
-- most to a client login, whose row-level security check is paid per run read. And runbook runs by name (it holds
-- runbook runs only). Other filters and sorts scan the runs with a top-N sort, about 15–50 ms at 100,000 runs
-- (bench:runs). More indexes over every run would cost the queue more than they give: a run's status changes several
-- times, each change writes a new row version into every index that covers all runs, and with indexes by status, by
-- duration, by status rank and a trigram index on the intent the queue's throughput fell by up to a fifth (bench:queue).
create index runs_newest on ops.runs (seq);
create index runs_runbook_newest on ops.runs ((spec ->> 'name'), seq) where executor = 'runbook';
