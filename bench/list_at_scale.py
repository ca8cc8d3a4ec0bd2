"""The task list at scale: 1,000,000 tasks of 10,000 users, plus one user with 100,000 tasks.

Times the list request's single statement (page + total count) for a typical user and for the
heavy one: plain, with a tag filter, overdue, sorted by due. Side by side in one run: with every
index, without the tags' GIN index, and without the per-user index either.

    make bench
"""

import os
import statistics
import tempfile
import time
from collections.abc import Callable

import pgserver
import psycopg

REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))


def main() -> None:
    url = pgserver.get_server(tempfile.mkdtemp(prefix="todo-bench-"), cleanup_mode="delete").get_uri()
    os.environ.update(DATABASE_URL=url, POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")

    from localdev.database import migrate

    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        for owner, count in (("'user-' || (n % 10000)", 1_000_000), ("'heavy'", 100_000)):
            # 30% due on a day and 20% at an instant, within two months either way; a priority on 3 in
            # 4; one tag of 50 on 1 in 5, two on another 1 in 5.
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
                f" FROM generate_series(1, {count}) n"
            )
        conn.execute("VACUUM ANALYZE tasks")
        print(f"1,100,000 tasks loaded in {time.perf_counter() - start:.1f} s\n")

    from sqlmodel import Session

    from todo_common import tasks
    from todo_common.db import engine

    def timed(user_id: str, query: tasks.TaskQuery) -> Callable[[], float]:
        def run() -> float:
            with Session(engine) as session:
                start = time.perf_counter()
                tasks.list_tasks(session, user_id, query)
                return time.perf_counter() - start

        return run

    cases = {
        "typical user, first page": timed("user-42", tasks.TaskQuery()),
        "typical user, pending, search": timed("user-42", tasks.TaskQuery(status="pending", q="task 1")),
        "typical user, tag": timed("user-42", tasks.TaskQuery(tag=["tag42"])),
        "typical user, overdue": timed("user-42", tasks.TaskQuery(overdue=True)),
        "heavy user, first page": timed("heavy", tasks.TaskQuery()),
        "heavy user, page 500": timed("heavy", tasks.TaskQuery(offset=50_000)),
        "heavy user, tag": timed("heavy", tasks.TaskQuery(tag=["tag7"])),
        "heavy user, two tags": timed("heavy", tasks.TaskQuery(tag=["tag7", "tag50"])),
        "heavy user, overdue": timed("heavy", tasks.TaskQuery(overdue=True)),
        "heavy user, sort=due": timed("heavy", tasks.TaskQuery(sort="due", order="asc")),
    }
    phases = {
        "all indexes": None,
        "no tags GIN": "DROP INDEX ix_tasks_tags",
        "no user index": "DROP INDEX ix_tasks_user_id_created_at_id",
    }
    results: dict[str, dict[str, float]] = {name: {} for name in cases}
    for phase, drop in phases.items():
        if drop:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(drop)
                conn.execute("ANALYZE tasks")
        for name, run in cases.items():
            run()  # warm the cache
            results[name][phase] = statistics.median(run() for _ in range(REPEAT))

    print(f"list request (median of {REPEAT}, ms){'':<4}" + "".join(f"{phase:>16}" for phase in phases))
    for name, timing in results.items():
        print(f"{name:<38}" + "".join(f"{timing[phase] * 1000:>16.2f}" for phase in phases))


if __name__ == "__main__":
    main()
