"""Running a long-lived server: memory settings, the event-loop lag probe, atomic file writes."""
