"""Local development: the embedded Postgres, migrations, and one server for all functions."""
