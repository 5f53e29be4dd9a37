"""The proxy's database: virtual keys, users, teams, budgets and spend logs (LiteLLM's data model).

``db`` talks to SQLite (the default, a file) or PostgreSQL through their asyncio drivers;
``migrate`` applies the versioned SQL files in ``migrations/`` at start; ``records`` is the
data layer; ``accounts`` authenticates virtual keys and enforces budgets and limits with an
in-memory cache; ``spend`` writes spend rows and spend increments off the request path;
``routes`` is LiteLLM's management API. Why these drivers: see bench/store_drivers.py and
the README (direct drivers were 1.5-2.2x faster than SQLAlchemy's async engine over them).
"""
