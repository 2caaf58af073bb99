"""The ``contextos`` command: argument parsing only; the work happens in the library.

Internal: the command line is the interface here, not these modules (import from ``contextos``)."""
