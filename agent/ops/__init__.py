"""Running a long-lived server: memory settings and the event-loop lag probe."""
