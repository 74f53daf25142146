-- The current document of a resume, read with a snapshot of its own.  A statement that
-- first waits for a resume's row lock (the public link counting a view, a restore from the
-- trash) and then reads the latest version row would read it as of its start: a save that
-- committed during the wait is in the row it locked (new title, new version) but not in its
-- view of resume_versions (old document).  A VOLATILE function takes a fresh snapshot for
-- each query it runs, after the lock is held, and no save can commit while it is held.
CREATE FUNCTION resume_doc(p_resume uuid) RETURNS json
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT d.data FROM resume_versions d WHERE d.resume_id = p_resume
             ORDER BY d.version DESC LIMIT 1);
END $$;
