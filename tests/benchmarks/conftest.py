"""The benchmark is run by `make bench`, never by `make test`: pytest collects nothing here."""

collect_ignore_glob = ["*"]
