"""The results store: every run's rows in SQLite or PostgreSQL, queried by report and gate."""
