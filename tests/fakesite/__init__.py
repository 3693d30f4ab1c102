"""Stand-ins for the sites chapterhouse crawls: page builders with our own placeholder text."""
