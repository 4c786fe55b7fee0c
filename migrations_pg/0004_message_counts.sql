-- As ../migrations/0014_message_counts.sql: messages per class and status, so that the
-- dashboard and the class list do not count the whole store. One difference: on
-- PostgreSQL several nodes write at once, and a trigger that updated the counter rows
-- directly would make every writer of a class wait for the others' commits on the same
-- row (and two transactions touching two classes in opposite order would deadlock). So
-- the trigger only appends a change (+1 / -1) to message_count_changes, which no one
-- locks, and the store folds the changes into message_counts before it reads them
-- (one folder at a time, under an advisory lock), in one transaction: a reader sees
-- message_counts plus the changes not folded yet, which is exact at its snapshot.
CREATE TABLE message_counts (
    class_id TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (class_id, status)
);

CREATE TABLE message_count_changes (
    class_id TEXT NOT NULL,
    status   TEXT NOT NULL,
    delta    BIGINT NOT NULL
);

INSERT INTO message_counts (class_id, status, n)
SELECT class_id, status, COUNT(*) FROM messages GROUP BY class_id, status;

CREATE FUNCTION message_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
        INSERT INTO message_count_changes (class_id, status, delta)
        VALUES (OLD.class_id, OLD.status, -1);
    END IF;
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        INSERT INTO message_count_changes (class_id, status, delta)
        VALUES (NEW.class_id, NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER message_counts_insert_delete AFTER INSERT OR DELETE ON messages
FOR EACH ROW EXECUTE FUNCTION message_count_change();

CREATE TRIGGER message_counts_update AFTER UPDATE OF status, class_id ON messages
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.class_id IS DISTINCT FROM NEW.class_id)
EXECUTE FUNCTION message_count_change();
