"""Running the real app for tests and benchmarks: its process on a free port, and a socket client."""
