-- Resume documents are 5-50 KB of JSON, written twice per save (current row and version
-- row).  pglz compression was the largest single CPU cost of a save; lz4 compresses about
-- as well here at a fraction of the CPU.  Applies to values written from now on.
ALTER TABLE resumes ALTER COLUMN data SET COMPRESSION lz4;
ALTER TABLE resume_versions ALTER COLUMN data SET COMPRESSION lz4;
