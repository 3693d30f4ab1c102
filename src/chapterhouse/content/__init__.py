"""What happens to fetched text before it is stored: sanitising, word counts, slugs, genres."""
