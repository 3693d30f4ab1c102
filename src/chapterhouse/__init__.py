"""chapterhouse: a self-hostable web-novel ingestion service."""

__version__ = "0.1.0"
