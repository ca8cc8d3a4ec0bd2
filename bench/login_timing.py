"""Login answers a wrong password and an unknown email in about the same time (bcrypt at the
production cost, 12), so timing does not reveal which emails have accounts.

    make bench

Requests go through the auth function's Lambda handler; the cases alternate request by request.
Reported: the median time of each case and its ratio to the wrong-password case.
"""

import os
import statistics
import tempfile
import time

import pgserver

from bench.environment import configure

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "15"))


def main() -> None:
    url = pgserver.get_server(tempfile.mkdtemp(prefix="todo-bench-"), cleanup_mode="delete").get_uri()
    # The same account fails again and again here: the limiter would answer 429 after five.
    configure(url, BCRYPT_ROUNDS="12", LOGIN_FAILURES_PER_ACCOUNT="1000", LOGIN_FAILURES_PER_ADDRESS="100000")

    from localdev.database import migrate

    migrate(url)

    from localdev.events import call

    password = "correct-horse-9"
    assert (
        call("POST", "/api/auth/signup", json_body={"email": "known@example.com", "password": password}).status == 201
    )
    cases = {
        "wrong password": ("known@example.com", "wrong-horse-9", 401),
        "unknown email": ("nobody@example.com", password, 401),
        "invalid email": ("not an email", password, 401),
        "password > 72 bytes": ("known@example.com", "x1" * 40, 401),
        "correct password": ("known@example.com", password, 200),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(REQUESTS):
        for name, (email, attempt, expected) in cases.items():
            start = time.perf_counter()
            response = call("POST", "/api/auth/login", json_body={"email": email, "password": attempt})
            samples[name].append(time.perf_counter() - start)
            assert response.status == expected, (name, response.body)

    baseline = statistics.median(samples["wrong password"])
    print(f"login at bcrypt cost 12, {REQUESTS} requests per case\n")
    print(f"{'case':<22}{'median ms':>11}{'ratio':>8}")
    for name, times in samples.items():
        median = statistics.median(times)
        print(f"{name:<22}{median * 1000:>11.1f}{median / baseline:>8.2f}")


if __name__ == "__main__":
    main()
