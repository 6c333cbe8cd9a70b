"""Course data: course files (`model`), assignment progress and records, and what the course
pages show (insight). Read by grading and the classroom; imports neither."""
