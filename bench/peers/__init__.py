"""Yardsticks for the benchmarks: what our functions are compared with (built by `build.py`).

- `resolver_app`: the lightest peer, Powertools' APIGatewayHttpResolver with psycopg and PyJWT;
- `single_function_app`: the design a newcomer would write, every route in one FastAPI app.
"""
