"""Developer kit: synthetic IMDb data, a local IMDb server and a throwaway PostgreSQL 18.

Used by tests, ``make demo`` and ``make bench``; never by the loader itself.
"""
