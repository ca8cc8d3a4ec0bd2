"""The task list at scale: 1,000,000 tasks of 10,000 users, plus one user with 100,000 tasks.

Times the list request's single statement (page + total count) for a typical user and for the
heavy one: plain, with a tag filter, overdue, sorted by due. Side by side in one run: with every
index, without the pending tasks' due indexes, without the tags' GIN index too, and without the
per-user index either. Then the tag filter with the tags in an array (what we ship) against the
same tags in a table of their own, keyed (user_id, tag, task_id).

    make bench
"""

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pgserver
import psycopg

from bench import results

REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))


def main() -> None:
    url = pgserver.get_server(tempfile.mkdtemp(prefix="todo-bench-"), cleanup_mode="delete").get_uri()
    os.environ.update(DATABASE_URL=url, POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")

    from localdev.database import migrate

    migrate(url)

    from sqlmodel import Session

    from todo_common import tasks
    from todo_common.db import get_engine

    def timed(user_id: str, query: tasks.TaskQuery) -> Callable[[], float]:
        def run() -> float:
            with Session(get_engine()) as session:
                start = time.perf_counter()
                tasks.list_tasks(session, user_id, query)
                return time.perf_counter() - start

        return run

    # The same user's first page (100 tasks of their own) as the table grows around them.
    growth: dict[int, float] = {}
    loaded = 0
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        for size in (1_000, 100_000, 1_000_000):
            load(conn, "'user-' || (n / 100)", loaded, size)
            loaded = size
            conn.execute("VACUUM ANALYZE tasks")
            run = timed("user-5", tasks.TaskQuery())
            run()
            growth[size] = statistics.median(run() for _ in range(REPEAT))
        load(conn, "'heavy'", 0, 100_000)
        conn.execute("VACUUM ANALYZE tasks")
        print(f"1,100,000 tasks loaded in {time.perf_counter() - start:.1f} s\n")
    print(f"a user's first page (100 tasks) as the table grows (median of {REPEAT}, ms)")
    for size, seconds in growth.items():
        print(f"{size:>12,} tasks{seconds * 1000:>10.2f}{seconds / growth[1_000]:>8.2f}x")
    print()

    cases = {
        "typical user, first page": timed("user-42", tasks.TaskQuery()),
        "typical user, pending, search": timed("user-42", tasks.TaskQuery(status="pending", q="task 1")),
        "typical user, tag": timed("user-42", tasks.TaskQuery(tag=["tag42"])),
        "typical user, overdue": timed("user-42", tasks.TaskQuery(overdue=True)),
        "heavy user, first page": timed("heavy", tasks.TaskQuery()),
        "heavy user, page 501 by offset": timed("heavy", tasks.TaskQuery(offset=50_000)),
        "heavy user, page 501 by cursor": timed("heavy", tasks.TaskQuery(cursor=cursor_at(url, 50_000))),
        "heavy user, tag": timed("heavy", tasks.TaskQuery(tag=["tag7"])),
        "heavy user, two tags": timed("heavy", tasks.TaskQuery(tag=["tag7", "tag50"])),
        "heavy user, overdue": timed("heavy", tasks.TaskQuery(overdue=True)),
        "heavy user, sort=due": timed("heavy", tasks.TaskQuery(sort="due", order="asc")),
    }
    tag_storage = compare_tag_storage(url)
    phases = {
        "all indexes": None,
        "no due indexes": "DROP INDEX ix_tasks_pending_due_date, ix_tasks_pending_due_at",
        "no tags GIN": "DROP INDEX ix_tasks_tags",
        "no user index": "DROP INDEX ix_tasks_user_id_created_at_id",
    }
    timings: dict[str, dict[str, float]] = {name: {} for name in cases}
    for phase, drop in phases.items():
        if drop:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(drop)
                conn.execute("ANALYZE tasks")
        for name, run in cases.items():
            run()  # warm the cache
            timings[name][phase] = statistics.median(run() for _ in range(REPEAT))

    print(f"\nlist request (median of {REPEAT}, ms){'':<4}" + "".join(f"{phase:>16}" for phase in phases))
    for name, timing in timings.items():
        print(f"{name:<38}" + "".join(f"{timing[phase] * 1000:>16.2f}" for phase in phases))
    ms = {name: {phase: round(t * 1000, 2) for phase, t in row.items()} for name, row in timings.items()}
    results.record(
        "list_at_scale",
        {
            "repeat": REPEAT,
            "first_page_as_the_table_grows_ms": {str(size): round(t * 1000, 2) for size, t in growth.items()},
            "lists_ms": ms,
            "tag_filter_array_vs_table_ms": tag_storage,
        },
    )


def cursor_at(url: str, position: int) -> str:
    """The cursor the API would give after the heavy user's first `position` tasks (default order)."""
    from todo_common import cursors, tasks

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT created_at, id FROM tasks WHERE user_id = 'heavy' ORDER BY created_at DESC, id DESC"
            " OFFSET %s LIMIT 1",
            (position - 1,),
        ).fetchone()
    assert row is not None
    return cursors.encode(row[0], row[1], tasks.TaskQuery().binding())


def load(conn: psycopg.Connection[Any], owner: str, first: int, last: int) -> None:
    """Tasks numbered first..last-1 for `owner` (an SQL expression of n): 30% due on a day and 20%
    at an instant, within two months either way; a priority on 3 in 4; one tag of 50 on 1 in 5,
    two on another 1 in 5."""
    conn.execute(
        "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at,"
        "                   due_date, due_at, priority, tags)"
        f" SELECT {owner}, 'task ' || n, 'details of task ' || n, n % 3 = 0,"
        "        now() - n * interval '1 second', now() - n * interval '1 second',"
        "        CASE WHEN n % 10 < 3 THEN current_date + (n % 121 - 60) END,"
        "        CASE WHEN n % 10 BETWEEN 3 AND 4 THEN now() + (n % 121 - 60) * interval '1 day' END,"
        "        (ARRAY['low', 'medium', 'high', NULL])[n % 4 + 1],"
        "        CASE n % 5 WHEN 0 THEN ARRAY['tag' || (n % 50)]"
        "                   WHEN 1 THEN ARRAY['tag' || (n % 50), 'tag' || (n % 7 + 50)] ELSE '{}' END"
        f" FROM generate_series({first}, {last - 1}) n"
    )


# The list statement's shape (the count and a page, in one), with the tag condition left open.
LIST_SQL = """
SELECT total.total, page.* FROM
  (SELECT count(*) AS total FROM tasks WHERE user_id = %(user)s AND {match}) AS total
  LEFT JOIN LATERAL (SELECT tasks.*{tags} FROM tasks WHERE user_id = %(user)s AND {match}
                     ORDER BY created_at DESC, id DESC LIMIT 100) AS page ON true
"""
IN_ARRAY = LIST_SQL.format(match="tags @> %(tags)s::text[]", tags="")
IN_TABLE = LIST_SQL.format(
    match="id IN (SELECT task_id FROM task_tags WHERE user_id = %(user)s AND tag = ANY(%(tags)s)"
    " GROUP BY task_id HAVING count(*) = cardinality(%(tags)s::text[]))",
    # The response carries each task's tags: from the table, one lookup per task on the page.
    tags=", ARRAY(SELECT tag FROM task_tags WHERE task_tags.task_id = tasks.id) AS tag_list",
)


def compare_tag_storage(url: str) -> dict[str, list[float]]:
    """The tag filter on the array with its GIN index, against a tags table of its own."""
    # Never prepared, like the API's connections (a generic plan would not know whose tasks these are).
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute(
            "CREATE TABLE task_tags (user_id text, tag text, task_id bigint, PRIMARY KEY (user_id, tag, task_id))"
        )
        conn.execute("INSERT INTO task_tags SELECT user_id, unnest(tags), id FROM tasks")
        conn.execute("CREATE INDEX ON task_tags (task_id)")
        conn.execute("VACUUM ANALYZE task_tags")
        print(f"tag filter (median of {REPEAT}, ms){'':<11}{'array + GIN':>16}{'tags table':>16}")
        measured = {}
        for name, user, tags in (
            ("typical user, tag", "user-42", ["tag42"]),
            ("heavy user, tag", "heavy", ["tag7"]),
            ("heavy user, two tags", "heavy", ["tag7", "tag50"]),
        ):
            timings = []
            for sql in (IN_ARRAY, IN_TABLE):
                params: dict[str, object] = {"user": user, "tags": tags}
                conn.execute(sql, params).fetchall()  # warm the cache

                def run(sql: str = sql, params: dict[str, object] = params) -> float:
                    start = time.perf_counter()
                    conn.execute(sql, params).fetchall()
                    return time.perf_counter() - start

                timings.append(statistics.median(run() for _ in range(REPEAT)))
            print(f"{name:<38}" + "".join(f"{timing * 1000:>16.2f}" for timing in timings))
            measured[name] = [round(timing * 1000, 3) for timing in timings]
        conn.execute("DROP TABLE task_tags")
    return measured


if __name__ == "__main__":
    main()
