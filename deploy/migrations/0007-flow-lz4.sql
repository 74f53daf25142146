-- A render run carries the resume it renders (5-50 KB of JSON) twice: the snapshot in
-- workflow_runs.input and the task message in the outbox.  With the default pglz,
-- compressing them on submit and decompressing them on relay and on the result was a large
-- part of PostgreSQL's CPU per generation (submit 0.52 -> 0.24 ms, result 0.52 -> 0.41 ms per
-- run with lz4 in bench/bench-flow.sh); lz4 compresses JSON about as well for a fraction of
-- the CPU, as for resumes.data (0002-resume-lz4.sql).  STORAGE MAIN for the short-lived
-- outbox rows was tried and was slower: the relay's scan then reads rows of kilobytes.
-- Applies to values written from now on.
ALTER TABLE workflow_runs ALTER COLUMN input SET COMPRESSION lz4;
ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION lz4;
