"""The task list at scale: 1,000,000 tasks of 10,000 users, plus one user with 100,000 tasks.

Times the list request's single statement (page + total count) for a typical user and for the
heavy one, with the per-user index and without it, side by side in one run.

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
        conn.execute(
            "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at)"
            " SELECT 'user-' || (n % 10000), 'task ' || n, 'details of task ' || n, n % 3 = 0,"
            "        now() - n * interval '1 second', now() - n * interval '1 second'"
            " FROM generate_series(1, 1000000) n"
        )
        conn.execute(
            "INSERT INTO tasks (user_id, title, completed) SELECT 'heavy', 'task ' || n, n % 2 = 0"
            " FROM generate_series(1, 100000) n"
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
        "heavy user, first page": timed("heavy", tasks.TaskQuery()),
        "heavy user, page 500": timed("heavy", tasks.TaskQuery(offset=50_000)),
    }
    results: dict[str, dict[str, float]] = {name: {} for name in cases}
    for indexed in (True, False):
        with psycopg.connect(url, autocommit=True) as conn:
            if not indexed:
                conn.execute("DROP INDEX ix_tasks_user_id_created_at_id")
                conn.execute("ANALYZE tasks")
        for name, run in cases.items():
            run()  # warm the cache
            results[name]["indexed" if indexed else "no index"] = statistics.median(run() for _ in range(REPEAT))

    print(f"{'list request (median of ' + str(REPEAT) + ')':<34}{'indexed':>10}{'no index':>12}{'ratio':>9}")
    for name, timing in results.items():
        ratio = timing["no index"] / timing["indexed"]
        print(f"{name:<34}{timing['indexed'] * 1000:>8.2f}ms{timing['no index'] * 1000:>10.2f}ms{ratio:>8.0f}x")


if __name__ == "__main__":
    main()
