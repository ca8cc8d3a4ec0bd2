from localdev.events import call


def test_root_answers_without_a_token() -> None:
    response = call("GET", "/")

    assert response.status == 200
    assert response.json()["status"] == "ok"


def test_health_says_the_database_answers() -> None:
    response = call("GET", "/health")

    assert response.status == 200
    assert response.json() == {"status": "ok", "database": "ok"}
