"""Compressors: filled in by the compression issue; the ``Compressor`` protocol is in ``contextos.context``."""
