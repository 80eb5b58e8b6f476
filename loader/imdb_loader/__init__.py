"""imdb_loader: the fastest correct IMDb -> PostgreSQL load, safe to re-run."""

from __future__ import annotations

__version__ = "0.1.0"
