"""One module per supported site; each is discovered by `crawl.registry`."""
