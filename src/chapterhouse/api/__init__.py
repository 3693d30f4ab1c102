"""The HTTP API: FastAPI routes over `services` and the library queries. Never imports Scrapy."""
