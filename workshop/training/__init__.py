"""Training: the course catalogue, sessions with attendance and scores, fault-finding drills."""
