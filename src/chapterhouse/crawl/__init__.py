"""Crawling: the site registry (Scrapy-free) and the Scrapy machinery that uses it."""
